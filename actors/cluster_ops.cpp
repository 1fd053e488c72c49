#include "actors/cluster_ops.hpp"

#include "cluster/wire.hpp"

namespace kwm::actors {

std::string encode_join_request(const join_request& request) {
  cluster::wire_writer out;
  out.bytes(request.joiner.display_name);
  out.byte(request.may_create ? 1 : 0);
  out.byte(request.reply ? 1 : 0);
  out.varint(request.reply ? request.reply->reply_to : 0);
  out.bytes(request.reply ? std::string_view(request.reply->hash) : std::string_view());
  out.bytes(request.answer_target);
  out.byte(request.answer ? 1 : 0);
  out.bytes(request.answer ? std::string_view(*request.answer) : std::string_view());
  out.byte(request.rejoin ? 1 : 0);  // appended: absent in an older node's requests
  return out.take();
}

std::optional<join_request> decode_join_request(std::string_view body) {
  cluster::wire_reader in(body);
  join_request request;
  request.joiner.display_name = std::string(in.bytes());
  request.may_create = in.byte() == 1;
  const bool has_reply = in.byte() == 1;
  const auto reply_to = in.varint();
  const auto hash = in.bytes();
  if (has_reply) request.reply = group_reply{reply_to, std::string(hash)};
  request.answer_target = std::string(in.bytes());
  const bool has_answer = in.byte() == 1;
  const auto answer = in.bytes();
  if (has_answer) request.answer = net::make_frame(std::string(answer));
  if (!in.ok()) return std::nullopt;
  request.rejoin = in.remaining() > 0 && in.byte() == 1;
  return request;
}

std::string encode_join_result(const join_result& result) {
  cluster::wire_writer out;
  out.byte(static_cast<uint8_t>(result.outcome));
  out.varint(result.membership);
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
