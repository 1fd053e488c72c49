#include "protocol/webrtc_rules.hpp"

#include "protocol/base64.hpp"

namespace kwm::protocol {
namespace {

rtm_error bad(std::string_view text) { return {error_code::bad_message, text}; }

}  // namespace

std::optional<rtm_error> check_has_user(const auth_record& auth) {
  if (auth.user_id.empty()) return bad(error_text::connection_has_no_user);
  return std::nullopt;
}

std::optional<rtm_error> check_webrtc_envelope(const webrtc_message& message, const auth_record& auth) {
  if (message.profile_set) return bad(error_text::profile_cannot_be_set);
  if (auth.group_restriction && auth.group_restriction->count(message.group) == 0)
    return rtm_error{error_code::access_restricted, error_text::access_denied};
  return std::nullopt;
}

std::optional<std::string_view> check_call_request(const webrtc_message& message, std::string_view source) {
  if (message.target.empty()) return error_text::target_is_empty;
  if (message.target == source) return error_text::target_same_as_source;
  if (message.state.empty()) return error_text::state_is_empty;
  if (!message.source.empty()) return error_text::source_must_be_empty;
  if (!message.channel.empty() || !message.hash.empty()) return error_text::channel_and_hash_must_be_empty;
  if (message.data.presence != json_presence::absent) return error_text::data_must_be_empty;
  return std::nullopt;
}

std::optional<std::string_view> check_answer(const webrtc_message& message, std::string_view source) {
  if (message.target.empty()) return error_text::target_is_empty;
  if (message.target == source) return error_text::target_same_as_source;
  if (message.state.empty()) return error_text::state_is_empty;
  if (!message.source.empty()) return error_text::source_must_be_empty;
  if (message.channel.empty() || message.hash.empty() || message.data.empty())
    return error_text::answer_fields_empty;
  return std::nullopt;
}

std::optional<std::string_view> check_signal(const webrtc_message& message) {
  if (message.state.empty()) return error_text::state_is_empty;
  if (!message.source.empty()) return error_text::source_must_be_empty;
  if (message.channel.empty() || message.hash.empty() || message.data.empty())
    return error_text::signal_fields_empty;
  return std::nullopt;
}

std::optional<std::string_view> check_group_join(const webrtc_message& message) {
  if (message.target.empty()) return error_text::target_is_empty;
  if (message.target != message.group) return error_text::target_group_mismatch;
  if (message.state.empty()) return error_text::state_is_empty;
  if (!message.source.empty()) return error_text::source_must_be_empty;
  return std::nullopt;
}

std::optional<std::string_view> check_channel_hash(const channel_hasher& hasher,
                                                   const webrtc_message& message,
                                                   std::string_view source, bool pipelined) {
  if (!message.group.empty() && message.channel != group_channel_id(message.group))
    return error_text::invalid_channel_for_group;
  if (message.hash.empty()) return error_text::missing_hash;
  const auto decoded = base64_decode(message.hash, base64_alphabet::standard);
  if (!decoded) return error_text::hash_decode_error;
  const std::string_view chosen = message.group.empty() ? message.target : message.group;
  if (chosen.empty()) return error_text::missing_target;
  if (pipelined && message.group.empty()) return std::nullopt;
  if (hasher.matches(*decoded, source, chosen, message.channel) ||
      hasher.matches(*decoded, source, message.target, message.channel))
    return std::nullopt;
  return error_text::invalid_hash;
}

std::optional<std::string> check_answer_data(const webrtc_message& message) {
  if (message.answer_type_error.empty()) return std::nullopt;
  return "invalid type for field " + message.answer_type_error;
}

}  // namespace kwm::protocol
