#pragma once
// What a connection does with one RTM text frame: the decoder, every webrtc/chats validation,
// and every rendering of what was decoded, each of whose outputs must be valid UTF-8 JSON
// (D19; an invalid one aborts, so the fuzzer reports it). Shared by the raw and the
// structure-aware RTM targets.
#include <string>
#include <string_view>
#include <variant>

#include "protocol/channel_hash.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/chats_rules.hpp"
#include "protocol/json_check.hpp"
#include "protocol/rtm_output.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/webrtc_output.hpp"
#include "protocol/webrtc_rules.hpp"

namespace kwm::fuzz {

inline void require_json(std::string_view where, const std::string& text) {
  protocol::require_valid_json_output(where, text);
}

inline void exercise_rtm_frame(std::string_view text) {
  using namespace kwm::protocol;
  static const channel_hasher hasher(std::string(32, 'k'));
  auto frame = parse_client_frame(text);
  if (auto* ping = std::get_if<ping_message>(&frame)) {
    require_json("pong", ping->pong);
    require_json("renewed pong", render_pong(text, "renewed.token.value"));
  } else if (auto* webrtc = std::get_if<webrtc_message>(&frame)) {
    auth_record auth;
    auth.user_id = "fuzzer";
    (void)check_webrtc_envelope(*webrtc, auth);
    (void)check_call_request(*webrtc, auth.user_id);
    (void)check_answer(*webrtc, auth.user_id);
    (void)check_signal(*webrtc);
    (void)check_group_join(*webrtc);
    (void)check_channel_hash(hasher, *webrtc, auth.user_id, false);
    (void)check_answer_data(*webrtc);
    require_json("forwarded webrtc",
                 render_forwarded(*webrtc, {"fuzzer", std::string_view("name"), std::nullopt}));
    require_json("forwarded into a pipeline",
                 render_forwarded(*webrtc, {webrtc->target, std::nullopt,
                                            std::string_view(webrtc->hash), true}));
    require_json("error reply", render_error(webrtc->id, error_code::bad_message, webrtc->subtype));
  } else if (auto* chats = std::get_if<chats_message>(&frame)) {
    chat_data out;
    if (!check_chat_request(*chats) && !check_chat_data(*chats, out)) {
      require_json("chat",
                   render_chats(chats->subtype, chats->channel, std::string_view(out.sender), out));
      require_json("chat reply",
                   render_chats_reply(chats->id, chats->subtype, chats->channel, out));
    }
  } else if (auto* invalid = std::get_if<invalid_field>(&frame)) {
    require_json("type error", render_error(invalid->reply_to, error_code::bad_message,
                                            "invalid type for field " + invalid->field));
  }
}

}  // namespace kwm::fuzz
