// Unit tests of protocol/ (and the pure parts of net/): codecs, shapes, texts.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "net/address_filter.hpp"
#include "net/cors.hpp"
#include "net/router.hpp"
#include "protocol/api_output.hpp"
#include "protocol/base64.hpp"
#include "protocol/connect_key.hpp"
#include "protocol/http_form.hpp"
#include "protocol/json.hpp"
#include "protocol/random.hpp"
#include "protocol/rate_limit.hpp"
#include "protocol/rtm_output.hpp"
#include "protocol/rtm_parse.hpp"

using namespace kwm::protocol;

TEST_CASE("base64 encodes and decodes both alphabets") {
  CHECK(base64_encode("", base64_alphabet::standard) == "");
  CHECK(base64_encode("f", base64_alphabet::standard) == "Zg==");
  CHECK(base64_encode("fo", base64_alphabet::standard) == "Zm8=");
  CHECK(base64_encode("foo", base64_alphabet::standard) == "Zm9v");
  CHECK(base64_encode("fo", base64_alphabet::url_safe, base64_padding::without_padding) == "Zm8");
  CHECK(base64_encode("\xfb\xff", base64_alphabet::standard) == "+/8=");
  CHECK(base64_encode("\xfb\xff", base64_alphabet::url_safe) == "-_8=");
  CHECK(base64_decode("Zm9vYg==", base64_alphabet::standard) == std::optional<std::string>("foob"));
  CHECK(base64_decode("Zm9vYg", base64_alphabet::url_safe) == std::optional<std::string>("foob"));
  CHECK(base64_decode("-_8=", base64_alphabet::url_safe) == std::optional<std::string>("\xfb\xff"));
  CHECK_FALSE(base64_decode("-_8=", base64_alphabet::standard));
  CHECK_FALSE(base64_decode("Zm9vY", base64_alphabet::standard));   // impossible length
  CHECK_FALSE(base64_decode("Zm=9", base64_alphabet::standard));    // misplaced padding
  CHECK_FALSE(base64_decode("Zh==", base64_alphabet::standard));    // non-zero trailing bits
  CHECK_FALSE(base64_decode("!!!!", base64_alphabet::url_safe));
}

TEST_CASE("random identifiers have the spec's lengths and alphabet") {
  const auto key = generate_connect_key();
  CHECK(key.size() == 32);
  CHECK(is_well_formed_connect_key(key));
  CHECK(generate_connect_key() != key);
  CHECK(random_string(message_id_bytes).size() == 16);
  const auto subject = random_string(token_subject_bytes);
  CHECK(subject.size() == 44);
  CHECK(subject.back() == '=');
  CHECK_FALSE(is_well_formed_connect_key("9cbGCh3RVnXwp89daK8MUsC-wO2NkY0"));    // 31
  CHECK_FALSE(is_well_formed_connect_key("9cbGCh3RVnXwp89daK8MUsC-wO2NkY0A1"));  // 33
  CHECK_FALSE(is_well_formed_connect_key("9cbGCh3RVnXwp89daK8MUsC+wO2NkY0A"));   // '+'
  CHECK(is_well_formed_connect_key("9cbGCh3RVnXwp89daK8MUsC-wO2NkY0A"));
}

TEST_CASE("form values: first occurrence wins, escapes decode, errors are reported") {
  form_values form;
  CHECK(form.parse("user=alice&user=bob&name=J%C3%BCrgen+X&empty=&flag"));
  CHECK(form.get("user") == "alice");
  CHECK(form.get("name") == "J\xC3\xBCrgen X");
  CHECK(form.get("empty") == "");
  CHECK(form.has("flag"));
  CHECK(form.get("missing") == "");
  form_values bad;
  CHECK_FALSE(bad.parse("user=%zz&next=ok"));
  CHECK(bad.get("next") == "ok");
  CHECK(url_unescape("%FF") == std::optional<std::string>("\xEF\xBF\xBD"));  // made valid UTF-8
  CHECK(is_form_content_type("application/x-www-form-urlencoded; charset=UTF-8"));
  CHECK(is_form_content_type("Application/X-WWW-Form-Urlencoded"));
  CHECK_FALSE(is_form_content_type("application/json"));
}

TEST_CASE("to_valid_utf8 keeps valid text and replaces invalid bytes") {
  CHECK(to_valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80") == "h\xC3\xA9llo \xF0\x9F\x98\x80");
  CHECK(to_valid_utf8("a\xC3") == "a\xEF\xBF\xBD");
  CHECK(to_valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  CHECK(to_valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
}

TEST_CASE("connect response shapes match the spec examples") {
  CHECK(render_connect_response("/api/v1/websocket/MTU-g8XPVzEVYLzC7mlEbFgeJ0Q8L6Cz",
                                self_info{"", "", "", false}, std::nullopt) ==
        R"({"ok":true,"url":"/api/v1/websocket/MTU-g8XPVzEVYLzC7mlEbFgeJ0Q8L6Cz","self":{"id":"","name":""},"server_status":{}})"
        "\n");
  turn_credentials turn{"1795686204:alice", "IOlomRm80rE8yGeFVlPQEmFOD/Q=", 3600,
                        {"turn:turn.example.com:3478?transport=udp",
                         "turns:turn.example.com:443?transport=tcp"}};
  CHECK(render_connect_response("/api/kwm/v2/rtm/websocket/9cbGCh3RVnXwp89daK8MUsC-wO2NkY0A",
                                self_info{"alice", "", "", true}, turn) ==
        R"({"ok":true,"url":"/api/kwm/v2/rtm/websocket/9cbGCh3RVnXwp89daK8MUsC-wO2NkY0A","self":{"id":"alice","name":"","auth":""},"turn":{"username":"1795686204:alice","password":"IOlomRm80rE8yGeFVlPQEmFOD/Q=","ttl":3600,"uris":["turn:turn.example.com:3478?transport=udp","turns:turn.example.com:443?transport=tcp"]},"server_status":{}})"
        "\n");
  CHECK(render_turn_response(turn).rfind(R"({"ok":true,"turn":{"username":"1795686204:alice",)", 0) == 0);
}

TEST_CASE("hello, goodbye and error frames") {
  CHECK(render_hello({"alice", "", "", true}) ==
        R"({"type":"hello","self":{"id":"alice","name":"","auth":""},"server_status":{}})");
  CHECK(render_hello({"", "", "", false}) ==
        R"({"type":"hello","self":{"id":"","name":""},"server_status":{}})");
  CHECK(goodbye_text() == R"({"type":"goodbye","server_status":null})");
  CHECK(render_error(4, error_code::bad_message, "invalid hash") ==
        R"({"type":"error","reply_to":4,"error":{"code":"bad_message","msg":"invalid hash"}})");
  CHECK(render_error(0, error_code::create_restricted, "access denied") ==
        R"({"type":"error","error":{"code":"create_restricted","msg":"access denied"}})");
}

namespace {

std::string pong_of(std::string_view ping) {
  auto frame = parse_client_frame(ping);
  REQUIRE(std::holds_alternative<ping_message>(frame));
  return std::get<ping_message>(frame).pong;
}

}  // namespace

TEST_CASE("pong echoes every key of the ping, sorted, with type pong") {
  CHECK(pong_of(R"({"type":"ping","id":1,"ts":12345,"extra":{"x":1}})") ==
        R"({"extra":{"x":1},"id":1,"ts":12345,"type":"pong"})");
  CHECK(pong_of(R"({"type":"ping"})") == R"({"type":"pong"})");
  CHECK(pong_of(R"({"z":{"b":[{"d":1,"c":2}],"a":null},"type":"ping","a":true})") ==
        R"({"a":true,"type":"pong","z":{"a":null,"b":[{"c":2,"d":1}]}})");
  CHECK(pong_of(R"({"type":"ping","ts":1795682651123,"big":9007199254740993,"f":1.5})") ==
        R"({"big":9007199254740993,"f":1.5,"ts":1795682651123,"type":"pong"})");
  CHECK(pong_of(R"({"type":"ping","k":1,"k":2})") == R"({"k":2,"type":"pong"})");
  CHECK(render_pong(R"({"type":"ping","id":7,"ts":1})", "eyJ.x.y") ==
        R"({"auth":"eyJ.x.y","id":7,"ts":1,"type":"pong"})");
  CHECK(render_pong(R"({"type":"ping","auth":"old"})", "new") == R"({"auth":"new","type":"pong"})");
}

TEST_CASE("fatal frames: invalid JSON, non-objects, missing or unknown type") {
  for (const char* text : {"{not json", "[]", "5", "\"x\"", "null", R"({"type":"foo"})",
                           R"({"type":"pong"})", R"({"type":"hello"})", R"({"type":5})", "{}",
                           R"({"type":null})", R"({"type":"ping"} x)", ""}) {
    CAPTURE(text);
    CHECK(std::holds_alternative<fatal_frame>(parse_client_frame(text)));
  }
  CHECK(std::holds_alternative<ping_message>(parse_client_frame(" {\"type\":\"ping\"}\n ")));
}

TEST_CASE("webrtc fields are parsed with their types, null means absent") {
  auto frame = parse_client_frame(
      R"({"type":"webrtc","subtype":"webrtc_call","id":2,"target":"bob","source":null,"initiator":true,)"
      R"("state":"astate","channel":"","hash":"","group":"","transaction":"tx","pcid":"p","v":20180703,"unknown":1})");
  REQUIRE(std::holds_alternative<webrtc_message>(frame));
  const auto& msg = std::get<webrtc_message>(frame);
  CHECK(msg.id == 2);
  CHECK(msg.subtype == "webrtc_call");
  CHECK(msg.target == "bob");
  CHECK(msg.source == "");
  CHECK(msg.initiator);
  CHECK(msg.state == "astate");
  CHECK(msg.transaction == "tx");
  CHECK(msg.pcid == "p");
  CHECK(msg.v == 20180703);
  CHECK_FALSE(msg.profile_set);
  CHECK(msg.data.presence == json_presence::absent);
}

TEST_CASE("webrtc data is kept verbatim and read as accept data") {
  auto frame = parse_client_frame(
      R"({"type":"webrtc","subtype":"webrtc_call","data":{"accept":true,"state":"astate","x":[1,2.5]}})");
  REQUIRE(std::holds_alternative<webrtc_message>(frame));
  auto msg = std::get<webrtc_message>(frame);
  CHECK(msg.data.is_object());
  CHECK(msg.data.text == R"({"accept":true,"state":"astate","x":[1,2.5]})");
  REQUIRE(msg.answer.has_value());
  CHECK(msg.answer->accept);
  CHECK(msg.answer->state == "astate");

  msg = std::get<webrtc_message>(parse_client_frame(R"({"type":"webrtc","data":null})"));
  CHECK(msg.data.presence == json_presence::null);
  CHECK(msg.data.empty());
  CHECK_FALSE(msg.answer.has_value());

  msg = std::get<webrtc_message>(parse_client_frame(R"({"type":"webrtc","data":"str"})"));
  CHECK(msg.answer_type_error == "data");
  msg = std::get<webrtc_message>(parse_client_frame(R"({"type":"webrtc","data":{"accept":"yes"}})"));
  CHECK(msg.answer_type_error == "data.accept");
  msg = std::get<webrtc_message>(parse_client_frame(R"({"type":"webrtc","data":{"state":5}})"));
  CHECK(msg.answer_type_error == "data.state");
  msg = std::get<webrtc_message>(parse_client_frame(R"({"type":"webrtc","data":{"reason":[]}})"));
  CHECK(msg.answer_type_error == "data.reason");
  msg = std::get<webrtc_message>(parse_client_frame(R"({"type":"webrtc","profile":{}})"));
  CHECK(msg.profile_set);
  msg = std::get<webrtc_message>(parse_client_frame(R"({"type":"webrtc","profile":null})"));
  CHECK_FALSE(msg.profile_set);
}

TEST_CASE("wrong JSON types in known fields give invalid_field with a valid reply_to") {
  struct expectation {
    const char* text;
    uint64_t reply_to;
    const char* field;
  };
  for (const auto& e : {
           expectation{R"({"type":"webrtc","id":"1"})", 0, "id"},
           expectation{R"({"type":"webrtc","id":3,"initiator":"yes"})", 3, "initiator"},
           expectation{R"({"type":"webrtc","id":3,"state":5})", 3, "state"},
           expectation{R"({"type":"webrtc","id":3,"target":[]})", 3, "target"},
           expectation{R"({"type":"webrtc","id":1.0})", 0, "id"},
           expectation{R"({"type":"webrtc","id":-1})", 0, "id"},
           expectation{R"({"type":"webrtc","id":1e3})", 0, "id"},
           expectation{R"({"type":"webrtc","id":9,"v":"1"})", 9, "v"},
           expectation{R"({"type":"chats","id":9,"channel":1})", 9, "channel"},
           expectation{R"({"type":"chats","id":9,"subtype":false})", 9, "subtype"},
       }) {
    CAPTURE(e.text);
    auto frame = parse_client_frame(e.text);
    REQUIRE(std::holds_alternative<invalid_field>(frame));
    CHECK(std::get<invalid_field>(frame).reply_to == e.reply_to);
    CHECK(std::get<invalid_field>(frame).field == e.field);
  }
  auto frame = parse_client_frame(R"({"type":"webrtc","id":18446744073709551615,"target":null})");
  REQUIRE(std::holds_alternative<webrtc_message>(frame));
  CHECK(std::get<webrtc_message>(frame).id == 18446744073709551615ull);
}

TEST_CASE("chats data is parsed into a chat message or rejected") {
  auto frame = parse_client_frame(
      R"({"type":"chats","subtype":"chats_message","id":11,"channel":"@g","v":20201201,)"
      R"("data":{"kind":"","sender":"","target":"","text":"hi","richText":"<b>hi</b>","id":"c","ts":5,"extra":{"b":1,"a":2}}})");
  REQUIRE(std::holds_alternative<chats_message>(frame));
  const auto& msg = std::get<chats_message>(frame);
  CHECK(msg.channel == "@g");
  REQUIRE(msg.message.has_value());
  CHECK(msg.message->text == "hi");
  CHECK(msg.message->rich_text == "<b>hi</b>");
  CHECK(msg.message->ts == 5);
  CHECK(msg.message->extra.text == R"({"a":2,"b":1})");
  for (const char* bad : {R"({"type":"chats","data":"x"})", R"({"type":"chats","data":{"text":5}})",
                          R"({"type":"chats","data":{"ts":1.5}})", R"({"type":"chats","data":{"extra":[]}})"}) {
    CAPTURE(bad);
    auto parsed = parse_client_frame(bad);
    REQUIRE(std::holds_alternative<chats_message>(parsed));
    CHECK_FALSE(std::get<chats_message>(parsed).message.has_value());
    CHECK_FALSE(std::get<chats_message>(parsed).data.empty());
  }
}

TEST_CASE("frame rate limiter: burst, refill, rejections and close") {
  using namespace std::chrono_literals;
  rate_limit_settings settings;
  settings.tokens_per_second = 50;
  settings.burst = 200;
  settings.close_after_rejections = 100;
  const auto start = std::chrono::steady_clock::time_point{} + 1h;
  frame_rate_limiter limiter(settings, start);
  for (int i = 0; i < 200; ++i) REQUIRE(limiter.admit(start, 30) == frame_rate_limiter::verdict::accept);
  CHECK(limiter.admit(start, 30) == frame_rate_limiter::verdict::reject);
  CHECK(limiter.admit(start + 20ms, 30) == frame_rate_limiter::verdict::accept);  // one token back
  for (int i = 0; i < 98; ++i) REQUIRE(limiter.admit(start + 20ms, 30) == frame_rate_limiter::verdict::reject);
  CHECK(limiter.admit(start + 20ms, 30) == frame_rate_limiter::verdict::close);  // 100th rejection

  frame_rate_limiter slow(settings, start);
  for (int i = 0; i < 1000; ++i)
    REQUIRE(slow.admit(start + i * 5s, 60) == frame_rate_limiter::verdict::accept);  // a ping every 5 s

  settings.tokens_per_second = 0;
  settings.bytes_per_second = 0;
  frame_rate_limiter off(settings, start);
  for (int i = 0; i < 1000; ++i) REQUIRE(off.admit(start, 1 << 20) == frame_rate_limiter::verdict::accept);
}

TEST_CASE("frame rate limiter counts bytes: 256 KiB/s sustained, 2 MiB burst (D20)") {
  using namespace std::chrono_literals;
  const rate_limit_settings settings;  // the defaults
  CHECK(settings.bytes_per_second == 262144);
  CHECK(settings.burst_bytes == 2097152);
  const auto start = std::chrono::steady_clock::time_point{} + 1h;
  frame_rate_limiter limiter(settings, start);
  // Two 1 MiB frames empty the byte bucket; frame tokens are plentiful.
  CHECK(limiter.admit(start, 1 << 20) == frame_rate_limiter::verdict::accept);
  CHECK(limiter.admit(start, 1 << 20) == frame_rate_limiter::verdict::accept);
  CHECK(limiter.admit(start, 1) == frame_rate_limiter::verdict::reject);
  // After 1 s, 256 KiB are back: exactly that much passes, one byte more does not.
  CHECK(limiter.admit(start + 1s, 256 * 1024 + 1) == frame_rate_limiter::verdict::reject);
  CHECK(limiter.admit(start + 1s, 256 * 1024) == frame_rate_limiter::verdict::accept);
  CHECK(limiter.admit(start + 1s, 1) == frame_rate_limiter::verdict::reject);
  // A refused frame takes nothing: the frame bucket still has its tokens for small frames.
  CHECK(limiter.admit(start + 1s + 4ms, 1000) == frame_rate_limiter::verdict::accept);

  // Frame and byte budgets are independent: many tiny frames hit the frame limit only.
  frame_rate_limiter tiny(settings, start);
  for (int i = 0; i < 200; ++i) REQUIRE(tiny.admit(start, 2) == frame_rate_limiter::verdict::accept);
  CHECK(tiny.admit(start, 2) == frame_rate_limiter::verdict::reject);

  // Sustained: 256 KiB every second for a minute is never refused.
  frame_rate_limiter steady(settings, start);
  for (int i = 0; i < 60; ++i)
    REQUIRE(steady.admit(start + i * 1s, 256 * 1024) == frame_rate_limiter::verdict::accept);
}

TEST_CASE("router matches exact paths and one parameter segment") {
  kwm::net::router routes;
  routes.add("/health-check", [](auto) {});
  routes.add_websocket("/api/v1/websocket/", [](auto, auto) {});
  CHECK(routes.find("/health-check").matched != nullptr);
  CHECK(routes.find("/health-check/").matched == nullptr);
  CHECK(routes.find("/Health-Check").matched == nullptr);
  auto match = routes.find("/api/v1/websocket/abc");
  REQUIRE(match.matched != nullptr);
  CHECK(match.parameter == "abc");
  CHECK(routes.find("/api/v1/websocket/").matched == nullptr);
  CHECK(routes.find("/api/v1/websocket/a/b").matched == nullptr);
}

TEST_CASE("trusted networks match IPv4 and IPv6 prefixes") {
  using kwm::net::network;
  auto peer = [](const char* text) {
    auto n = network::parse(text);
    REQUIRE(n.has_value());
    kwm::net::peer_address address;
    address.bytes = n->prefix_bytes;
    address.is_v4 = n->is_v4;
    return address;
  };
  const auto loopback = kwm::net::address_filter::loopback_only();
  CHECK(loopback.allows(peer("127.0.0.1")));
  CHECK(loopback.allows(peer("127.255.0.3")));
  CHECK(loopback.allows(peer("::1")));
  CHECK_FALSE(loopback.allows(peer("10.0.0.1")));
  CHECK_FALSE(loopback.allows(peer("::2")));
  kwm::net::address_filter lan({*network::parse("192.168.1.0/24"), *network::parse("fd00::/8")});
  CHECK(lan.allows(peer("192.168.1.77")));
  CHECK_FALSE(lan.allows(peer("192.168.2.1")));
  CHECK(lan.allows(peer("fd12::1")));
  CHECK_FALSE(network::parse("10.0.0.0/33"));
  CHECK_FALSE(network::parse("nonsense"));
  CHECK(peer("10.1.2.3").to_string() == "10.1.2.3");
}

TEST_CASE("CORS header names are canonicalised as Go does") {
  CHECK(kwm::net::canonical_header_name("content-type") == "Content-Type");
  CHECK(kwm::net::canonical_header_name("AUTHORIZATION") == "Authorization");
  CHECK(kwm::net::canonical_header_name("x-requested-with") == "X-Requested-With");
}
