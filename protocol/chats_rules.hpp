#pragma once
// Validation of client `chats` messages (spec §3.16) in the spec's order and texts.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/rtm_messages.hpp"

namespace kwm::protocol {

inline constexpr std::size_t chat_text_limit = 16384;       // bytes, before trimming
inline constexpr std::size_t chat_rich_text_limit = 18022;  // bytes, before trimming

// Up to (not including) `channel not found`.
std::optional<std::string_view> check_chat_request(const chats_message& message);

// After the sender was found to be the channel's member connection: the message data.
// Trims `text` and `richText` in place.
std::optional<std::string_view> check_chat_data(const chats_message& message, chat_data& data);

// Go's strings.TrimSpace: leading and trailing Unicode white space.
std::string trim_space(std::string_view text);

}  // namespace kwm::protocol
