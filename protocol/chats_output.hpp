#pragma once
// Server → client `chats` frames (spec §3.16).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/rtm_messages.hpp"

namespace kwm::protocol {

// RTMTypeChats: a chat message or system message to channel members. `profile` nullopt
// omits the key; "" writes {}.
std::string render_chats(std::string_view subtype, std::string_view channel,
                         std::optional<std::string_view> profile, const chat_data& data);

// RTMTypeChatsReply: the echo of a chat message to its sender.
std::string render_chats_reply(uint64_t reply_to, std::string_view subtype, std::string_view channel,
                               const chat_data& data);

// The join/leave notice (D15: the user id stands in for an empty display name).
chat_data membership_notice(std::string_view user_id, std::string_view display_name, bool joined,
                            int64_t now_seconds);

// The delivery notice sent to a chat message's sender.
chat_data delivery_notice(std::string_view message_id);

int64_t unix_seconds_now();

}  // namespace kwm::protocol
