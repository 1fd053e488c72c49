#include "protocol/field_limits.hpp"

#include <initializer_list>
#include <utility>

namespace kwm::protocol {
namespace {

using checked_field = std::pair<const std::string*, std::string_view>;

std::optional<std::string_view> first_too_long(std::initializer_list<checked_field> fields,
                                               std::size_t limit) {
  if (limit == 0) return std::nullopt;
  for (const auto& [value, error] : fields)
    if (value->size() > limit) return error;
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> check_field_limits(const webrtc_message& message,
                                                   const field_limits& limits) {
  if (auto error = first_too_long({{&message.group, "group too long"},
                                   {&message.target, "target too long"},
                                   {&message.state, "state too long"},
                                   {&message.channel, "channel too long"},
                                   {&message.hash, "hash too long"},
                                   {&message.transaction, "transaction too long"},
                                   {&message.pcid, "pcid too long"}},
                                  limits.field_bytes))
    return error;
  if (limits.data_bytes != 0 && message.data.text.size() > limits.data_bytes)
    return "data too long";
  return std::nullopt;
}

std::optional<std::string_view> check_field_limits(const chats_message& message,
                                                   const field_limits& limits) {
  return first_too_long({{&message.channel, "channel too long"},
                         {&message.group, "group too long"},
                         {&message.transaction, "transaction too long"}},
                        limits.field_bytes);
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (max_bytes == 0 || text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

}  // namespace kwm::protocol
