// The bad-input sweep (issue #7): every error text of spec §3.18, the fatal frames, and each
// D2/D3/D4 case, sent end to end to one server while a bystander call between two other users
// is checked to keep working after every single input.
#include <doctest/doctest.h>

#include "protocol/admin_token.hpp"
#include "protocol/chats_output.hpp"
#include "support/forged_tokens.hpp"
#include "support/rtm_peer.hpp"

using namespace kwm::test;

namespace {

const std::string server_key = "sweep-server-key-of-at-least-thirty-two-bytes";

kwm::app::runtime_options token_options() {
  auto options = token_auth_options(server_key);
  options.rtm.connection.rate_limit.tokens_per_second = 1;  // a reachable limit for the flooder
  options.rtm.connection.rate_limit.burst = 100;
  return options;
}

rtm_peer open_with_token(uint16_t port, const std::string& user) {
  const auto reply = connect_with(port, "Token " + new_token(port, user), user);
  REQUIRE(reply.status == 200);
  return rtm_peer(user, std::make_unique<ws_client>(port, url_of(reply)));
}

std::string str(const rapidjson::Value& value, const char* key) {
  REQUIRE(value.HasMember(key));
  return value[key].GetString();
}

std::string error_frame(uint64_t reply_to, const std::string& message, const std::string& code = "bad_message") {
  return R"({"type":"error","reply_to":)" + std::to_string(reply_to) + R"(,"error":{"code":")" + code +
         R"(","msg":")" + message + R"("}})";
}

struct call_channel {
  std::string channel, hash;
};

std::string webrtc(const std::string& subtype, uint64_t id, const std::string& fields) {
  return R"({"type":"webrtc","subtype":")" + subtype + R"(","id":)" + std::to_string(id) + "," + fields +
         R"(,"v":20180703})";
}

std::string in_channel(const call_channel& c, const std::string& hash_override = "") {
  return R"("channel":")" + c.channel + R"(","hash":")" + (hash_override.empty() ? c.hash : hash_override) + R"(")";
}

// caller calls callee, callee answers; returns the channel.
call_channel establish_call(rtm_peer& caller, rtm_peer& callee) {
  caller.send(webrtc("webrtc_call", 1, R"("target":")" + callee.user + R"(","initiator":true,"state":"cs")"));
  const auto reply = caller.next_json();
  REQUIRE(reply.IsObject());
  const call_channel c{str(reply, "channel"), str(reply, "hash")};
  CHECK(str(callee.next_json(), "subtype") == "webrtc_call");
  callee.send(webrtc("webrtc_call", 1,
                     R"("target":")" + caller.user + R"(","state":"es",)" + in_channel(c) +
                         R"(,"data":{"accept":true,"state":"cs"})"));
  CHECK(str(caller.next_json(), "subtype") ==
        "webrtc_call");  // the answer, then "… has joined" (D21)
  CHECK(str(caller.next_json(), "subtype") == "chats_system");
  return c;
}

// Two users in an answered call; after every bad input both directions must still carry a signal.
class bystander_call {
 public:
  explicit bystander_call(uint16_t port)
      : carol_(open_with_token(port, "carol")), dave_(open_with_token(port, "dave")),
        channel_(establish_call(carol_, dave_)) {}
  bystander_call(rtm_peer carol, rtm_peer dave)
      : carol_(std::move(carol)), dave_(std::move(dave)), channel_(establish_call(carol_, dave_)) {}

  void still_talks() {
    ++round_;
    for (auto [from, to] : {std::pair{&carol_, &dave_}, std::pair{&dave_, &carol_}}) {
      from->send(webrtc("webrtc_signal", round_,
                        R"("target":")" + to->user + R"(","state":"s",)" + in_channel(channel_) +
                            R"(,"data":{"round":)" + std::to_string(round_) + "}"));
      const auto signal = to->next_json();
      REQUIRE(signal.IsObject());
      CHECK(str(signal, "source") == from->user);
      CHECK(signal["data"]["round"].GetUint64() == round_);
    }
  }

 private:
  rtm_peer carol_, dave_;
  call_channel channel_;
  uint64_t round_ = 0;
};

struct bad_input {
  std::string frame;
  std::string answer;  // the exact error frame expected
};

void expect_each(rtm_peer& sender, const std::vector<bad_input>& inputs, bystander_call& bystander) {
  for (const auto& input : inputs) {
    CAPTURE(input.frame.substr(0, 200));
    sender.send(input.frame);
    CHECK(sender.next() == input.answer);
    bystander.still_talks();
  }
}

constexpr const char* goodbye = R"({"type":"goodbye","server_status":null})";

}  // namespace

TEST_CASE("bad input sweep: every error text, D2, D3 and D4, with a bystander call (Token mode)") {
  server_fixture server(token_options());
  const auto port = server.port();
  bystander_call bystander(port);
  bystander.still_talks();

  auto mallory = open_with_token(port, "mallory");
  auto trent = open_with_token(port, "trent");

  SUBCASE("call requests, signals, hangups and subtypes (D3 included)") {
    mallory.send(webrtc("webrtc_call", 1, R"("target":"trent","initiator":true,"state":"ms")"));
    const auto reply = mallory.next_json();
    const call_channel c{str(reply, "channel"), str(reply, "hash")};
    trent.next();  // the incoming call
    const std::string to_trent = R"("target":"trent","state":"ms",)";
    expect_each(
        mallory,
        {
            {webrtc("webrtc_call", 2, R"("target":5,"state":"s")"), error_frame(2, "invalid type for field target")},
            {webrtc("webrtc_call", 3, R"("target":"trent","state":"s","profile":{"id":"x"})"),
             error_frame(3, "profile cannot be set by client")},
            {webrtc("webrtc_call", 4, R"("initiator":true,"state":"s")"), error_frame(4, "target is empty")},
            {webrtc("webrtc_call", 5, R"("target":"mallory","initiator":true,"state":"s")"),
             error_frame(5, "target same as source")},
            {webrtc("webrtc_call", 6, R"("target":"trent","initiator":true)"), error_frame(6, "state is empty")},
            {webrtc("webrtc_call", 7, R"("target":"trent","initiator":true,"state":"s","source":"x")"),
             error_frame(7, "source must be empty")},
            {webrtc("webrtc_call", 8, R"("target":"trent","initiator":true,"state":"s","channel":"*x")"),
             error_frame(8, "channel and hash must be empty")},
            {webrtc("webrtc_call", 9, R"("target":"trent","initiator":true,"state":"s","data":null)"),
             error_frame(9, "data must be empty")},
            {webrtc("webrtc_nonsense", 10, R"("target":"trent")"), error_frame(10, "unknown subtype")},
            {R"({"type":"chats","subtype":"chats_nonsense","id":11,"channel":"@x","data":{}})",
             error_frame(11, "unknown subtype")},
            {webrtc("webrtc_signal", 12, R"("target":"trent",)" + in_channel(c) + R"(,"data":{})"),
             error_frame(12, "state is empty")},
            {webrtc("webrtc_signal", 13, to_trent + in_channel(c) + R"(,"data":null)"),
             error_frame(13, "channel hash or data is empty")},
            {webrtc("webrtc_hangup", 14, to_trent + in_channel(c) + R"(,"data":null)"),
             error_frame(14, "channel hash or data is empty")},
            {webrtc("webrtc_signal", 15, to_trent + R"("channel":"*AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","hash":")" +
                                             c.hash + R"(","data":{})"),
             error_frame(15, "channel not found")},
            {webrtc("webrtc_signal", 16, R"("state":"ms",)" + in_channel(c) + R"(,"data":{})"),
             error_frame(16, "missing target")},
            {webrtc("webrtc_signal", 17, to_trent + in_channel(c, "not*base64") + R"(,"data":{})"),
             error_frame(17, "hash decode error")},
            {webrtc("webrtc_signal", 18,
                    to_trent + in_channel(c, "WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4=") + R"(,"data":{})"),
             error_frame(18, "invalid hash")},
        },
        bystander);

    // trent answers mallory's call, badly first.
    const std::string to_mallory = R"("target":"mallory","state":"ts",)";
    expect_each(
        trent,
        {
            {webrtc("webrtc_call", 20,
                    to_mallory + R"("channel":"*AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","hash":")" + c.hash +
                        R"(","data":{"accept":true})"),
             error_frame(20, "channel not found")},
            {webrtc("webrtc_call", 21, to_mallory + in_channel(c) + R"(,"data":null)"),
             error_frame(21, "channel, hash or data is empty")},
            {webrtc("webrtc_call", 22, to_mallory + in_channel(c) + R"(,"data":"yes")"),
             error_frame(22, "invalid type for field data")},
            {webrtc("webrtc_call", 23, to_mallory + in_channel(c) + R"(,"data":{"accept":"yes"})"),
             error_frame(23, "invalid type for field data.accept")},
            {webrtc("webrtc_call", 24, to_mallory + in_channel(c) + R"(,"data":{"accept":true,"state":5})"),
             error_frame(24, "invalid type for field data.state")},
            {webrtc("webrtc_call", 25, to_mallory + in_channel(c) + R"(,"data":{"accept":false,"reason":[]})"),
             error_frame(25, "invalid type for field data.reason")},
        },
        bystander);

    // D4: trent answers; then his second connection answers into the same 1:1 channel.
    trent.send(webrtc("webrtc_call", 26,
                      to_mallory + in_channel(c) + R"(,"data":{"accept":true,"state":"ms"})"));
    CHECK(str(mallory.next_json(), "subtype") == "webrtc_call");
    CHECK(str(mallory.next_json(), "subtype") == "chats_system");
    auto trent_phone = open_with_token(port, "trent");
    trent_phone.send(webrtc("webrtc_call", 27, to_mallory + in_channel(c) + R"(,"data":{"accept":true,"state":"ms"})"));
    CHECK(trent_phone.next() == error_frame(27, "id already exists"));
    bystander.still_talks();
    // The mallory–trent call itself keeps working too.
    mallory.send(webrtc("webrtc_signal", 28, to_trent + in_channel(c) + R"(,"data":{"after":"D4"})"));
    CHECK(parse_json(trent.next())["data"]["after"] == "D4");
  }

  SUBCASE("groups and chats") {
    auto join = [](uint64_t id, const std::string& fields) { return webrtc("webrtc_group", id, fields); };
    mallory.send(join(1, R"("target":"sweep","group":"sweep","state":"gs")"));
    const auto joined = mallory.next_json();
    const std::string group_hash = str(joined, "hash");
    const auto mesh_answer = [&](uint64_t id, const std::string& group, bool accept) {
      return webrtc("webrtc_call", id,
                    R"("target":"trent","group":")" + group + R"(","state":"gs","channel":"@sweep","hash":")" +
                        group_hash + R"(","data":{"accept":)" + (accept ? "true" : "false") + "}");
    };
    const auto chat = [](uint64_t id, const std::string& data, const std::string& channel = "@sweep") {
      return R"({"type":"chats","subtype":"chats_message","id":)" + std::to_string(id) + R"(,"channel":")" + channel +
             R"(","v":20201201,"data":)" + data + "}";
    };
    expect_each(
        mallory,
        {
            {join(2, R"("group":"sweep","state":"s")"), error_frame(2, "target is empty")},
            {join(3, R"("target":"sweep","group":"other","state":"s")"), error_frame(3, "target and group mismatch")},
            {join(4, R"("target":"sweep","group":"sweep")"), error_frame(4, "state is empty")},
            {join(5, R"("target":"sweep","group":"sweep","state":"s","source":"x")"),
             error_frame(5, "source must be empty")},
            {mesh_answer(6, "sweep", false), error_frame(6, "accept required for group call")},
            {mesh_answer(7, "other", true), error_frame(7, "invalid channel for group")},
            {R"({"type":"chats","subtype":"chats_message","id":8,"channel":"@sweep"})",
             error_frame(8, "channel or data is empty")},
            {chat(9, "null"), error_frame(9, "channel or data is empty")},
            {chat(10, R"({"text":"x"})", "@nowhere"), error_frame(10, "channel not found")},
            {chat(11, R"("x")"), error_frame(11, "message data parse error")},
            {chat(12, R"({"text":"x","sender":"mallory"})"), error_frame(12, "message sender must be empty")},
            {chat(13, R"({"text":"x","target":"trent"})"), error_frame(13, "message target must be empty")},
            {chat(14, R"({"text":")" + std::string(16385, 'a') + R"("})"),
             error_frame(14, "message text size limit exceeded")},
            {chat(15, R"({"text":"x","richText":")" + std::string(18023, 'a') + R"("})"),
             error_frame(15, "message rich text size limit exceeded")},
            {chat(16, R"({"text":"  "})"), error_frame(16, "message text is empty")},
            {chat(17, R"({"text":"x","extra":{"a":1}})"), error_frame(17, "message contains unexpected extra data")},
            {chat(18, R"({"text":"x","kind":"poll"})"), error_frame(18, "unknown message kind")},
            {chat(19, R"({"text":5})"), error_frame(19, "message data parse error")},
        },
        bystander);
    expect_each(trent, {{chat(20, R"({"text":"let me in"})"), error_frame(20, "connection not in channel")}},
                bystander);
  }

  SUBCASE("rate limit, then fatal frames: goodbye and the close code (D6)") {
    // Past the burst of 100, frames are refused one by one while the connection stays usable.
    std::string burst;
    for (int id = 1; id <= 102; ++id) burst += encode_frame(opcode::text, R"({"type":"ping","id":)" + std::to_string(id) + "}");
    mallory.ws->send_raw(burst);
    for (int id = 1; id <= 100; ++id) CHECK(mallory.next() == R"({"id":)" + std::to_string(id) + R"(,"type":"pong"})");
    // Refused frames are not parsed (D20): the answer has no reply_to.
    const std::string refused = R"({"type":"error","error":{"code":"bad_message","msg":"rate limit exceeded"}})";
    CHECK(mallory.next() == refused);
    CHECK(mallory.next() == refused);
    bystander.still_talks();

    struct fatal {
      std::string frame;
      uint16_t code;
    };
    for (const auto& f : std::vector<fatal>{{"not json", 1001},
                                            {"[1,2]", 1001},
                                            {R"({"id":1})", 1001},
                                            {R"({"type":"bogus","id":1})", 1001},
                                            {R"({"type":"ping","pad":")" + std::string(1 << 20, 'x') + R"("})", 1009}}) {
      CAPTURE(f.frame.substr(0, 40));
      auto victim = open_with_token(port, "victim");
      victim.ws->send_frame(opcode::binary, "binary frames are ignored");
      victim.send(f.frame);
      CHECK(victim.ws->next_text() == std::optional<std::string>(goodbye));
      CHECK(victim.ws->wait_close() == std::optional<uint16_t>(f.code));
      bystander.still_talks();
    }
  }

  SUBCASE("forged and malformed tokens (D2)") {
    const int64_t now = kwm::protocol::unix_seconds_now();
    const auto token = new_token(port, "mallory");
    std::vector<std::string> malformed = {"Token", "Token" + token, "token " + token, "Foo " + token, "Bearer " + token};
    for (const auto& forged : tokens_breaking_d2(server_key, "mallory", now)) malformed.push_back("Token " + forged);
    for (const std::string& authorization : malformed) {
      CAPTURE(authorization);
      const auto reply = connect_with(port, authorization, "mallory");
      CHECK(reply.status == 403);
      CHECK(reply.body == "auth failed\n");
      bystander.still_talks();
    }
    // Revoked: the admin API deletes the record, the token stops working.
    http_call(port, "DELETE", "/api/kwm/v2/admin/auth/tokens", {{"Content-Type", "application/json"}},
              R"({"type":"Token","sub":"mallory"})");
    CHECK(connect_with(port, "Token " + token, "mallory").body == "auth failed\n");
    bystander.still_talks();
  }
}

TEST_CASE("bad input sweep, anonymous mode: an id-less connection has no user") {
  server_fixture server;
  bystander_call bystander(rtm_peer(server, "carol"), rtm_peer(server, "dave"));
  auto reply = connect_with(server.port(), "", "");
  REQUIRE(reply.status == 200);
  rtm_peer nobody("", std::make_unique<ws_client>(server.port(), url_of(reply)));
  expect_each(nobody,
              {{webrtc("webrtc_call", 1, R"("target":"carol","initiator":true,"state":"s")"),
                error_frame(1, "connection has no user")},
               {R"({"type":"chats","subtype":"chats_message","id":2,"channel":"@x","data":{"text":"hi"}})",
                error_frame(2, "connection has no user")}},
              bystander);
}
