#pragma once
// Error codes and the exact error texts of spec §3.6 and §3.18.
#include <string_view>

namespace kwm::protocol {

enum class error_code { bad_message, access_restricted, create_restricted, no_session_for_user };

std::string_view to_string(error_code code);

// An RTM error: sent to the client as an `error` message unless it is
// `no_session_for_user`, which is swallowed so that clients cannot probe presence.
struct rtm_error {
  error_code code = error_code::bad_message;
  std::string_view message;
};

namespace error_text {
inline constexpr std::string_view rate_limit_exceeded = "rate limit exceeded";
inline constexpr std::string_view connection_has_no_user = "connection has no user";
inline constexpr std::string_view profile_cannot_be_set = "profile cannot be set by client";
inline constexpr std::string_view access_denied = "access denied";
inline constexpr std::string_view target_is_empty = "target is empty";
inline constexpr std::string_view target_group_mismatch = "target and group mismatch";
inline constexpr std::string_view target_same_as_source = "target same as source";
inline constexpr std::string_view state_is_empty = "state is empty";
inline constexpr std::string_view source_must_be_empty = "source must be empty";
inline constexpr std::string_view channel_and_hash_must_be_empty = "channel and hash must be empty";
inline constexpr std::string_view data_must_be_empty = "data must be empty";
inline constexpr std::string_view answer_fields_empty = "channel, hash or data is empty";
inline constexpr std::string_view signal_fields_empty = "channel hash or data is empty";
inline constexpr std::string_view channel_not_found = "channel not found";
inline constexpr std::string_view invalid_channel_for_group = "invalid channel for group";
inline constexpr std::string_view missing_hash = "missing hash";
inline constexpr std::string_view hash_decode_error = "hash decode error";
inline constexpr std::string_view missing_target = "missing target";
inline constexpr std::string_view invalid_hash = "invalid hash";
inline constexpr std::string_view accept_required = "accept required for group call";
inline constexpr std::string_view channel_is_closed = "channel is closed";
inline constexpr std::string_view id_already_exists = "id already exists";
inline constexpr std::string_view unknown_subtype = "unknown subtype";
inline constexpr std::string_view too_many_channels = "too many channels";  // D20
inline constexpr std::string_view group_is_full = "group is full";          // D20
inline constexpr std::string_view chat_channel_or_data_empty = "channel or data is empty";
inline constexpr std::string_view connection_not_in_channel = "connection not in channel";
inline constexpr std::string_view message_data_parse_error = "message data parse error";
inline constexpr std::string_view message_sender_must_be_empty = "message sender must be empty";
inline constexpr std::string_view message_target_must_be_empty = "message target must be empty";
inline constexpr std::string_view message_text_too_long = "message text size limit exceeded";
inline constexpr std::string_view message_rich_text_too_long =
    "message rich text size limit exceeded";
inline constexpr std::string_view message_text_is_empty = "message text is empty";
inline constexpr std::string_view message_unexpected_extra =
    "message contains unexpected extra data";
inline constexpr std::string_view unknown_message_kind = "unknown message kind";
inline constexpr std::string_view no_session_for_user = "no session for user";
}  // namespace error_text

}  // namespace kwm::protocol
