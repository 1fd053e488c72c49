#include "cluster/redis_reply.hpp"

#include <charconv>

namespace kwm::cluster {

const char* to_string(failure kind) {
  switch (kind) {
    case failure::unavailable:
      return "redis unavailable";
    case failure::overloaded:
      return "too many pending redis commands";
    case failure::timeout:
      return "redis did not answer in time";
    case failure::lost:
      return "redis connection lost";
    case failure::stopped:
      return "redis client stopped";
    case failure::rejected:
      return "redis refused the command";
    case failure::malformed:
      return "unexpected redis reply";
  }
  return "redis failure";
}

std::optional<int64_t> redis_reply::as_integer() const {
  if (type == kind::integer) return integer;
  if (type != kind::string || text.empty()) return std::nullopt;
  int64_t value = 0;
  const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (problem != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

result<redis_reply> reject_error_reply(redis_reply reply) {
  if (reply.is_error()) return error{failure::rejected, std::move(reply.text)};
  return reply;
}

}  // namespace kwm::cluster
