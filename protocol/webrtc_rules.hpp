#pragma once
// Validation of client `webrtc` messages, in the spec's order and with its exact texts
// (spec §3.2, §3.8, §3.10–§3.15, §3.18). Each check returns the first failure or nullopt.
#include <optional>
#include <string>
#include <string_view>

#include "protocol/auth_record.hpp"
#include "protocol/channel_hash.hpp"
#include "protocol/rtm_errors.hpp"
#include "protocol/rtm_messages.hpp"

namespace kwm::protocol {

// `connection has no user` (anonymous id-less connections, D1), for webrtc and chats.
std::optional<rtm_error> check_has_user(const auth_record& auth);

// Before the subtype: profile, then the guest group restriction (spec §3.15).
std::optional<rtm_error> check_webrtc_envelope(const webrtc_message& message, const auth_record& auth);

// `webrtc_call` with `initiator: true`, up to (not including) create_restricted.
std::optional<std::string_view> check_call_request(const webrtc_message& message, std::string_view source);
// `webrtc_call` answers, up to `channel not found`.
std::optional<std::string_view> check_answer(const webrtc_message& message, std::string_view source);
// `webrtc_signal` and `webrtc_hangup`, up to `channel not found`.
std::optional<std::string_view> check_signal(const webrtc_message& message);
// `webrtc_group` joins.
std::optional<std::string_view> check_group_join(const webrtc_message& message);

// The hash and group checks (spec §3.8) for a message from `source` in an existing channel.
std::optional<std::string_view> check_channel_hash(const channel_hasher& hasher,
                                                   const webrtc_message& message,
                                                   std::string_view source, bool pipelined);

// `invalid type for field data…` of an answer's data (D3), or nullopt.
std::optional<std::string> check_answer_data(const webrtc_message& message);

// The channel id of a group.
inline std::string group_channel_id(std::string_view group) { return "@" + std::string(group); }
inline bool is_group_channel_id(std::string_view id) { return !id.empty() && id.front() == '@'; }

}  // namespace kwm::protocol
