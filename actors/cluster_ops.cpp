#include "actors/cluster_ops.hpp"

#include "cluster/wire.hpp"

namespace kwm::actors {

std::string encode_join_body(std::string_view display_name, bool may_create) {
  cluster::wire_writer out;
  out.bytes(display_name);
  out.byte(may_create ? 1 : 0);
  return out.take();
}

bool decode_join_body(std::string_view body, std::string& display_name, bool& may_create) {
  cluster::wire_reader in(body);
  display_name = std::string(in.bytes());
  may_create = in.byte() == 1;
  return in.ok();
}

std::string encode_join_result(const join_result& result) {
  cluster::wire_writer out;
  out.byte(static_cast<uint8_t>(result.outcome));
  out.varint(result.membership);
  out.varint(result.members.size());
  for (const auto& member : result.members) out.bytes(member);
  return out.take();
}

std::string encode_join_moved() {
  return std::string(1, static_cast<char>(join_moved));
}

std::optional<join_result> decode_join_result(std::string_view encoded) {
  cluster::wire_reader in(encoded);
  const auto outcome = in.byte();
  if (outcome > static_cast<uint8_t>(join_outcome::full)) return std::nullopt;
  join_result result;
  result.outcome = static_cast<join_outcome>(outcome);
  result.membership = in.varint();
  for (auto count = in.count(1); count > 0 && in.ok(); --count)
    result.members.emplace_back(in.bytes());
  if (!in.ok()) return std::nullopt;
  return result;
}

std::string encode_membership(uint64_t membership) {
  cluster::wire_writer out;
  out.varint(membership);
  return out.take();
}

uint64_t decode_membership(std::string_view body) {
  cluster::wire_reader in(body);
  return in.varint();
}

}  // namespace kwm::actors
