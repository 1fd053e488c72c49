#pragma once
// Size limits of client-chosen strings (D20): user ids and display names at connect, and
// the fields of `webrtc` and `chats` frames after their types were checked. A frame over a
// limit is answered with `bad_message` `<field> too long` and the connection stays open.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/rtm_messages.hpp"

namespace kwm::protocol {

struct field_limits {
  std::size_t user_bytes = 256;   // user id and display name; 0 = off
  std::size_t field_bytes = 256;  // group, state, pcid, transaction, channel, hash, target; 0 = off
  std::size_t data_bytes = 65536;  // `data` of a webrtc message, serialised; 0 = off

  bool user_fits(std::string_view text) const {
    return user_bytes == 0 || text.size() <= user_bytes;
  }
};

inline constexpr std::string_view user_too_long = "user too long";  // connect: 400

// The first field over its limit as `<field> too long`, or nullopt. `group` is checked
// first (a webrtc_group repeats it as its target), then the wire order of spec §3.7: target,
// state, channel, hash, transaction, pcid, data.
std::optional<std::string_view> check_field_limits(const webrtc_message& message,
                                                   const field_limits& limits);
// `chats`: channel, group, transaction (text and richText keep their own limits, §3.16).
std::optional<std::string_view> check_field_limits(const chats_message& message,
                                                   const field_limits& limits);

// At most `max_bytes` of `text` (valid UTF-8), cut at a character boundary; 0 = whole.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

}  // namespace kwm::protocol
