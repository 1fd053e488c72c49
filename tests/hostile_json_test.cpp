// Regression tests for issue 13 findings 1, 2, 5 and 6 at the protocol level: the number
// shapes that crashed RapidJSON or came back as inf/NaN, deep nesting, and lone surrogate
// escapes in relayed strings (D18, D19).
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "protocol/admin_api.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/webrtc_output.hpp"

using namespace kwm::protocol;

namespace {

// Issue 13 item 1: two shapes that crashed RapidJSON 1.1.0's full-precision path.
const std::string crash_number =
    "99999999909099000.000007777777777777777777777777777777777770000000000928e-390";
const std::string long_zero_fraction = "0." + std::string(350, '0') + "1";

std::string ping_pong(const std::string& ping) {
  auto frame = parse_client_frame(ping);
  REQUIRE(std::holds_alternative<ping_message>(frame));
  return std::get<ping_message>(frame).pong;
}

webrtc_message parse_webrtc(const std::string& text) {
  auto frame = parse_client_frame(text);
  REQUIRE(std::holds_alternative<webrtc_message>(frame));
  return std::get<webrtc_message>(frame);
}

}  // namespace

TEST_CASE("hostile numbers in a ping: no crash, underflow is zero, overflow is invalid JSON") {
  // Underflow rounds to zero with the sign kept, as Go's strconv.ParseFloat does.
  CHECK(ping_pong(R"({"type":"ping","id":)" + crash_number + "}") == R"({"id":0.0,"type":"pong"})");
  CHECK(ping_pong(R"({"type":"ping","id":1,"x":)" + long_zero_fraction + "}") ==
        R"({"id":1,"type":"pong","x":0.0})");
  CHECK(ping_pong(R"({"type":"ping","x":[)" + long_zero_fraction + "," + long_zero_fraction +
                  "]}") == R"({"type":"pong","x":[0.0,0.0]})");
  CHECK(ping_pong(R"({"type":"ping","x":999112.50356684760857e-330})") ==
        R"({"type":"pong","x":0.0})");
  CHECK(ping_pong(R"({"type":"ping","x":1111111111111111111e-343})") ==
        R"({"type":"pong","x":0.0})");
  CHECK(ping_pong(R"({"type":"ping","x":-1e-400})") == R"({"type":"pong","x":-0.0})");
  // The smallest subnormal and the largest finite double survive unchanged.
  CHECK(ping_pong(R"({"type":"ping","x":5e-324})") == R"({"type":"pong","x":5e-324})");
  CHECK(ping_pong(R"({"type":"ping","x":1.7976931348623157e308})") ==
        R"({"type":"pong","x":1.7976931348623157e308})");
  // Outside the finite double range: invalid JSON, so the frame is fatal (D18, §3.2).
  for (const char* number :
       {"1.7976931348623159e308", "1e400", "-1e400", "1e99999999999999999999"}) {
    CAPTURE(number);
    CHECK(std::holds_alternative<fatal_frame>(
        parse_client_frame(std::string(R"({"type":"ping","id":1,"x":)") + number + "}")));
    CHECK(render_pong(std::string(R"({"type":"ping","x":)") + number + "}", "a.b.c").empty());
  }
}

TEST_CASE("hostile numbers in relayed data and admin bodies") {
  auto msg = parse_webrtc(R"({"type":"webrtc","subtype":"webrtc_signal","data":{"sdp":)" +
                          long_zero_fraction + "}}");
  CHECK(msg.data.text == R"({"sdp":0.0})");
  CHECK(std::holds_alternative<fatal_frame>(parse_client_frame(
      R"({"type":"webrtc","subtype":"webrtc_signal","data":{"sdp":1.7976931348623159e308}})")));
  CHECK(std::holds_alternative<fatal_frame>(parse_client_frame(
      R"({"type":"chats","subtype":"chats_message","data":{"extra":{"n":1e400}}})")));

  auto token =
      parse_admin_token_object(R"({"type":"Token","claims":{"n":)" + long_zero_fraction + "}}");
  REQUIRE(std::holds_alternative<admin_token_object>(token));
  CHECK(std::get<admin_token_object>(token).claims.text == R"({"n":0.0})");
  token = parse_admin_token_object(R"({"type":"Token","claims":{"n":)" + crash_number + "}}");
  REQUIRE(std::holds_alternative<admin_token_object>(token));
  CHECK(std::get<admin_token_object>(token).claims.text == R"({"n":0.0})");
  // One such token used to break the whole token list: its claims are refused now.
  CHECK(std::holds_alternative<std::string>(
      parse_admin_token_object(R"({"type":"Token","claims":{"n":1.7976931348623159e308}})")));
}

TEST_CASE("deep nesting is invalid JSON, not a stack overflow") {
  const std::string deep(100000, '[');
  CHECK(std::holds_alternative<fatal_frame>(
      parse_client_frame(R"({"type":"ping","id":1,"x":)" + deep + std::string(100000, ']') + "}")));
  CHECK(render_pong(R"({"type":"ping","x":)" + deep + std::string(100000, ']') + "}", "").empty());
  CHECK(std::holds_alternative<fatal_frame>(
      parse_client_frame(R"({"type":"webrtc","subtype":"webrtc_signal","data":)" +
                         std::string(50000, '[') + std::string(50000, ']') + "}")));
  CHECK(std::holds_alternative<std::string>(parse_admin_token_object(
      R"({"type":"Token","claims":{"a":)" + deep + std::string(100000, ']') + "}}")));
  // 32 levels in all (the frame's own object included) are fine, 33 are not.
  CHECK(ping_pong(R"({"type":"ping","x":)" + std::string(31, '[') + std::string(31, ']') + "}") ==
        R"({"type":"pong","x":)" + std::string(31, '[') + std::string(31, ']') + "}");
  CHECK(std::holds_alternative<fatal_frame>(parse_client_frame(
      R"({"type":"ping","x":)" + std::string(32, '[') + std::string(32, ']') + "}")));
}

TEST_CASE("lone surrogate escapes in relayed strings become U+FFFD") {
  const std::string replacement = "\xEF\xBF\xBD";
  auto call = parse_webrtc(
      R"({"type":"webrtc","subtype":"webrtc_call","target":"bob","initiator":true,"state":"a\udc00b","v":20180703})");
  CHECK(call.state == "a" + replacement + "b");
  const auto forwarded = render_forwarded(call, {"alice", std::nullopt, std::nullopt});
  CHECK(forwarded.find("\"state\":\"a" + replacement + "b\"") != std::string::npos);
  CHECK(forwarded.find("\xED") == std::string::npos);

  auto signal = parse_webrtc(
      R"({"type":"webrtc","subtype":"webrtc_signal","data":{"sdp":"\ud800x","c":"\ud800\u0041"}})");
  CHECK(signal.data.text == "{\"sdp\":\"" + replacement + "x\",\"c\":\"" + replacement + "A\"}");

  auto chat = parse_client_frame(
      R"({"type":"chats","subtype":"chats_message","channel":"@g","data":{"text":"\udc00\ud83d\ude00"}})");
  REQUIRE(std::holds_alternative<chats_message>(chat));
  const auto& message = std::get<chats_message>(chat).message;
  REQUIRE(message);
  CHECK(message->text == replacement + "\xF0\x9F\x98\x80");
  CHECK(render_chats("chats_message", "@g", "", *message).find("\xED") == std::string::npos);

  // Pong echoes are re-serialised from the decoded value too.
  CHECK(ping_pong(R"({"type":"ping","s":"\udc00"})") ==
        "{\"s\":\"" + replacement + "\",\"type\":\"pong\"}");
}
