// libFuzzer target: one RTM text frame through the decoder and every validation a
// connection applies to it. Must never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "protocol/channel_hash.hpp"
#include "protocol/chats_rules.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/webrtc_output.hpp"
#include "protocol/webrtc_rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kwm::protocol;
  static const channel_hasher hasher(std::string(32, 'k'));
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto frame = parse_client_frame(text);
  if (std::holds_alternative<ping_message>(frame)) {
    (void)render_pong(text, "renewed.token.value");
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
    (void)render_forwarded(*webrtc, {"fuzzer", std::string_view("name"), std::nullopt});
  } else if (auto* chats = std::get_if<chats_message>(&frame)) {
    chat_data out;
    if (!check_chat_request(*chats)) (void)check_chat_data(*chats, out);
  }
  return 0;
}
