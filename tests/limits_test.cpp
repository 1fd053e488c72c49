// The field and resource limits of D20 and the RE2 patterns of D22, end to end: the exact
// boundaries (256 bytes accepted, 257 refused) with the exact error texts, the per-connection
// channel caps under create/hangup loops, the group cap, the cap of pending connect keys, the
// byte rate limit, and the regular expressions against very long client text (finding 3).
#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "protocol/search_pattern.hpp"
#include "support/forged_tokens.hpp"
#include "support/process.hpp"
#include "support/rtm_peer.hpp"

using namespace kwm::test;

namespace {

std::string error_reply(uint64_t reply_to, const std::string& message) {
  return R"({"type":"error","reply_to":)" + std::to_string(reply_to) +
         R"(,"error":{"code":"bad_message","msg":")" + message + R"("}})";
}

// A webrtc frame from `fields` (a JSON members list without braces).
std::string webrtc_frame(const std::string& subtype, uint64_t id, const std::string& fields) {
  return R"({"type":"webrtc","subtype":")" + subtype + R"(","id":)" + std::to_string(id) + "," +
         fields + R"(,"v":20180703})";
}

std::string quoted(const std::string& key, const std::string& value) {
  return "\"" + key + "\":\"" + value + "\"";
}

std::string join_frame(const std::string& group, uint64_t id) {
  return webrtc_frame("webrtc_group", id,
                      quoted("target", group) + "," + quoted("group", group) + ",\"state\":\"gs\"");
}

std::string text_of(const rapidjson::Value& value, const char* key) {
  REQUIRE(value.HasMember(key));
  return value[key].GetString();
}

kwm::app::runtime_options unlimited_rate() {
  auto options = test_options();
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  return options;
}

}  // namespace

TEST_CASE("connect: a user id of 256 bytes is accepted, 257 bytes get 400 user too long") {
  server_fixture server;
  const std::string fits(256, 'u');
  for (const char* path : {"/api/kwm/v2/rtm/connect", "/api/v1/rtm.connect"}) {
    CAPTURE(path);
    auto reply = connect_with(server.port(), "", fits, path);
    REQUIRE(reply.status == 200);
    rtm_peer peer(fits, std::make_unique<ws_client>(server.port(), url_of(reply)));
    reply = connect_with(server.port(), "", fits + "u", path);
    CHECK(reply.status == 400);
    CHECK(reply.body == "user too long\n");
  }
}

TEST_CASE("connect with Token auth: a subject of 257 bytes gets 400 user too long") {
  const std::string key = "limits-server-key-of-at-least-thirty-two-bytes";
  server_fixture server(token_auth_options(key));
  const std::string fits(256, 't');
  CHECK(connect_with(server.port(), "Token " + new_token(server.port(), fits), fits).status == 200);
  // The admin API makes no such token (`sub too long`); one signed elsewhere with the key is
  // refused at connect.
  const auto now = static_cast<int64_t>(std::time(nullptr));
  const auto too_long = forge_token(R"({"alg":"HS256","kid":"","typ":"JWT"})",
                                    R"({"exp":)" + std::to_string(now + 3600) + R"(,"iat":)" +
                                        std::to_string(now) + R"(,"sub":")" + fits + R"(t"})",
                                    key);
  const auto reply = connect_with(server.port(), "Token " + too_long, fits + "t");
  CHECK(reply.status == 400);
  CHECK(reply.body == "user too long\n");
}

TEST_CASE(
    "webrtc and chats fields: 256 bytes pass, 257 bytes get `<field> too long` and the connection "
    "stays") {
  server_fixture server;
  rtm_peer alice(server, "alice");
  const std::string channel(33, 'C');
  uint64_t id = 0;
  // A signal into an unknown channel: within the limits it gets as far as `channel not found`.
  auto signal_with = [&](const std::string& field, const std::string& value) {
    std::map<std::string, std::string> fields = {
        {"target", "bob"}, {"state", "s"}, {"channel", "*" + channel},
        {"hash", "h"},     {"group", ""},  {"transaction", ""},
        {"pcid", ""}};
    fields[field] = value;
    std::string members;
    for (const auto& [key, text] : fields) members += quoted(key, text) + ",";
    return webrtc_frame("webrtc_signal", ++id, members + R"("data":{})");
  };
  for (const char* field : {"target", "state", "channel", "group", "hash", "transaction", "pcid"}) {
    CAPTURE(field);
    alice.send(signal_with(field, std::string(256, 'f')));
    CHECK(alice.next() == error_reply(id, "channel not found"));
    alice.send(signal_with(field, std::string(257, 'f')));
    CHECK(alice.next() == error_reply(id, std::string(field) + " too long"));
  }
  // The limit counts bytes of the decoded string: 128 two-byte characters fit, 129 do not.
  std::string two_byte;
  for (int i = 0; i < 128; ++i) two_byte += "\xC3\xA9";
  alice.send(signal_with("state", two_byte));
  CHECK(alice.next() == error_reply(id, "channel not found"));
  alice.send(signal_with("state", two_byte + "\xC3\xA9"));
  CHECK(alice.next() == error_reply(id, "state too long"));

  // `data` serialised: {"x":"…"} of exactly 65536 bytes passes, one byte more does not.
  auto signal_with_data = [&](std::size_t serialised) {
    const std::string data = R"({"x":")" + std::string(serialised - 8, 'd') + R"("})";
    REQUIRE(data.size() == serialised);
    return webrtc_frame("webrtc_signal", ++id,
                        quoted("target", "bob") + "," + quoted("state", "s") + "," +
                            quoted("channel", "*" + channel) + "," + quoted("hash", "h") +
                            R"(,"data":)" + data);
  };
  alice.send(signal_with_data(65536));
  CHECK(alice.next() == error_reply(id, "channel not found"));
  alice.send(signal_with_data(65537));
  CHECK(alice.next() == error_reply(id, "data too long"));

  // chats: channel, group and transaction.
  for (const char* field : {"channel", "group", "transaction"}) {
    CAPTURE(field);
    auto chat_with = [&](std::size_t length) {
      std::map<std::string, std::string> fields = {
          {"channel", "@nowhere"}, {"group", ""}, {"transaction", ""}};
      fields[field] = std::string(length, 'c');
      std::string members;
      for (const auto& [key, text] : fields) members += quoted(key, text) + ",";
      return R"({"type":"chats","subtype":"chats_message","id":)" + std::to_string(++id) + "," +
             members + R"("v":20201201,"data":{"text":"hi"}})";
    };
    alice.send(chat_with(256));
    CHECK(alice.next() == error_reply(id, "channel not found"));
    alice.send(chat_with(257));
    CHECK(alice.next() == error_reply(id, std::string(field) + " too long"));
  }
  alice.send(R"({"type":"ping","id":7})");
  CHECK(alice.next() == R"({"id":7,"type":"pong"})");
}

TEST_CASE("a call with every field at its limit is relayed whole") {
  server_fixture server;
  const std::string caller(256, 'a'), callee(256, 'b');
  rtm_peer alice(server, caller), bob(server, callee);
  const std::string state(256, 's'), pcid(256, 'p'), transaction(256, 't');
  alice.send(webrtc_frame("webrtc_call", 1,
                          quoted("target", callee) + "," + quoted("state", state) + "," +
                              quoted("transaction", transaction) + R"(,"initiator":true)"));
  const auto reply = alice.next_json();
  const auto channel = text_of(reply, "channel"), hash = text_of(reply, "hash");
  const auto call = bob.next_json();
  CHECK(text_of(call, "source") == caller);
  CHECK(text_of(call, "state") == state);
  CHECK(text_of(call, "transaction") == transaction);
  bob.send(webrtc_frame("webrtc_call", 1,
                        quoted("target", caller) + "," + quoted("state", state) + "," +
                            quoted("channel", channel) + "," + quoted("hash", hash) +
                            R"(,"data":{"accept":true,"state":")" + state + "\"}"));
  CHECK(text_of(alice.next_json(), "subtype") == "webrtc_call");
  CHECK(text_of(alice.next_json(), "subtype") == "chats_system");
  const std::string sdp(65536 - 10, 'x');  // {"sdp":"…"} is 65536 bytes
  alice.send(webrtc_frame("webrtc_signal", 2,
                          quoted("target", callee) + "," + quoted("state", state) + "," +
                              quoted("channel", channel) + "," + quoted("hash", hash) + "," +
                              quoted("pcid", pcid) + R"(,"data":{"sdp":")" + sdp + "\"}"));
  const auto signal = bob.next_json();
  CHECK(text_of(signal, "pcid") == pcid);
  CHECK(text_of(signal["data"], "sdp") == sdp);
}

TEST_CASE(
    "a connection is in at most 64 groups, rejoining works at the cap and a hangup frees a place") {
  server_fixture server(unlimited_rate());
  rtm_peer alice(server, "alice");
  std::string first_hash;
  for (uint64_t i = 0; i < 64; ++i) {
    alice.send(join_frame("g" + std::to_string(i), i + 1));
    const auto reply = alice.next_json();
    REQUIRE(text_of(reply, "subtype") == "webrtc_channel");
    if (i == 0) first_hash = text_of(reply, "hash");
  }
  alice.send(join_frame("g64", 100));
  CHECK(alice.next() == error_reply(100, "too many channels"));
  alice.send(join_frame("g0", 101));  // kwmjs refreshGroup after a reconnect
  CHECK(text_of(alice.next_json(), "subtype") == "webrtc_channel");
  alice.send(webrtc_frame("webrtc_hangup", 102,
                          quoted("target", "g0") + "," + quoted("group", "g0") + "," +
                              quoted("state", "gs") + "," + quoted("channel", "@g0") + "," +
                              quoted("hash", first_hash) + R"(,"data":{})"));
  alice.send(join_frame("g64", 103));
  const auto joined = alice.next_json();
  CHECK(text_of(joined, "subtype") == "webrtc_channel");
  CHECK(joined["reply_to"].GetUint64() == 103);
}

TEST_CASE(
    "1:1 calls: creating and hanging up in a loop never locks out, and 64 open calls are the cap") {
  server_fixture server(unlimited_rate());
  rtm_peer alice(server, "alice"), bob(server, "bob");
  uint64_t id = 0;
  auto call = [&]() {
    alice.send(
        webrtc_frame("webrtc_call", ++id, R"("target":"bob","state":"as","initiator":true)"));
    return alice.next_json();
  };
  for (int round = 0; round < 200; ++round) {
    const auto reply = call();
    REQUIRE(text_of(reply, "subtype") == "webrtc_channel");
    bob.next();  // the incoming call
    alice.send(webrtc_frame(
        "webrtc_hangup", ++id,
        R"("target":"bob","state":"as",)" + quoted("channel", text_of(reply, "channel")) + "," +
            quoted("hash", text_of(reply, "hash")) + R"(,"data":{"reason":"hangup"})"));
    CHECK(text_of(bob.next_json(), "subtype") == "webrtc_hangup");
  }
  std::vector<std::pair<std::string, std::string>> open;
  for (int i = 0; i < 64; ++i) {
    const auto reply = call();
    REQUIRE(text_of(reply, "subtype") == "webrtc_channel");
    open.emplace_back(text_of(reply, "channel"), text_of(reply, "hash"));
    bob.next();
  }
  alice.send(webrtc_frame("webrtc_call", ++id, R"("target":"bob","state":"as","initiator":true)"));
  CHECK(alice.next() == error_reply(id, "too many channels"));
  // bob may still answer all 64: they are alice's calls, bob's own cap counts his answers.
  for (const auto& [channel, hash] : open) {
    bob.send(webrtc_frame("webrtc_call", ++id,
                          R"("target":"alice","state":"bs",)" + quoted("channel", channel) + "," +
                              quoted("hash", hash) + R"(,"data":{"accept":true,"state":"as"})"));
  }
  const auto frames = bob.until_pong();
  for (const auto& frame : frames) CHECK(frame.find("error") == std::string::npos);
}

TEST_CASE(
    "RE2 (D22, finding 3): a 40 KB guest path against ^group/public/.* is matched, not a crash") {
  auto options = test_options();
  options.enable_guest_api = true;
  options.guests.clients = std::vector<kwm::protocol::guest_client>{};
  std::string error;
  options.guests.public_paths = kwm::protocol::search_pattern::compile("^group/public/.*", error);
  server_fixture server(options);
  const auto reply =
      http_call(server.port(), "POST", "/api/kwm/v2/guest/logon",
                {{"Content-Type", "application/x-www-form-urlencoded"}},
                "client_id=unknown&guest=1&path=group/public/" + std::string(40'000, 'x'));
  CHECK(reply.status == 403);  // matched; then the unknown client is refused
  CHECK(reply.body == "guest access denied\n");
  CHECK(http_call(server.port(), "GET", "/health-check").status == 200);
}

TEST_CASE("RE2 (D22, finding 3): a 40,000-character conference group with the MCU API on") {
  auto options = test_options();
  options.mcu.enabled = true;
  server_fixture server(options);
  rtm_peer alice(server, "alice");
  const std::string group = "conference/" + std::string(40'000, 'x');
  alice.send(join_frame(group, 1));
  CHECK(alice.next() == error_reply(1, "group too long"));
  alice.send(join_frame("conference/room", 2));
  const auto reply = alice.next_json();
  CHECK(text_of(reply["data"]["pipeline"], "pipeline") == "@conference/room");
}

TEST_CASE(
    "startup: an outgoing queue too small for the largest fan-out frame is refused with exit 2") {
  // With 1000 members of 256-byte ids a member list can reach about 1.5 MB.
  const auto result = run_binary(
      {KWM_SERVER_BINARY, "serve", "--listen", "127.0.0.1:0", "--ws-send-queue-bytes", "1000000"},
      std::chrono::seconds(10));
  CHECK(result.status == 2);
  CHECK(result.err.find("Error: --ws-send-queue-bytes 1000000 cannot hold the largest frame the "
                        "server may send to "
                        "other connections (group member list, up to ") == 0);
}

TEST_CASE("startup: lower limits make a smaller queue acceptable, given as flags or variables") {
  child_process server(
      {KWM_SERVER_BINARY, "serve", "--listen", "127.0.0.1:0", "--ws-send-queue-bytes", "1000000"},
      {{"KWMSERVERD_RTM_MAX_GROUP_MEMBERS", "100"}});
  CHECK(server.wait_for_stderr(R"(msg="listening")", std::chrono::seconds(10)).has_value());
  const auto refused = run_binary(
      {KWM_SERVER_BINARY, "serve", "--listen", "127.0.0.1:0", "--rtm-rate-burst-bytes", "1000"},
      std::chrono::seconds(10));
  CHECK(refused.status == 2);
  CHECK(refused.err.find(
            "Error: --rtm-rate-burst-bytes 1000 is smaller than the largest message") == 0);
}

TEST_CASE("a group at its member cap refuses new users with `group is full`, not new devices") {
  auto options = test_options();
  options.channels.max_group_members = 3;
  server_fixture server(options);
  std::vector<rtm_peer> members;
  for (const char* user : {"ann", "ben", "cat"}) {
    members.emplace_back(server, user);
    members.back().send(join_frame("room", 1));
    REQUIRE(text_of(members.back().next_json(), "subtype") == "webrtc_channel");
  }
  rtm_peer dan(server, "dan");
  dan.send(join_frame("room", 2));
  CHECK(dan.next() == error_reply(2, "group is full"));
  // Another device of a member replaces its old connection: still three users.
  rtm_peer ben_phone(server, "ben");
  ben_phone.send(join_frame("room", 3));
  const auto replaced = ben_phone.next_json();
  CHECK(replaced["data"]["group"]["members"].Size() == 3);
  // Once someone leaves there is room again.
  ben_phone.send(webrtc_frame("webrtc_hangup", 4,
                              R"("target":"room","group":"room","state":"gs","channel":"@room",)" +
                                  quoted("hash", text_of(replaced, "hash")) + R"(,"data":{})"));
  // The hangup and dan's join take different ways to the channel (through other nodes in
  // the round-robin run): dan joins once ann has seen the member list without ben.
  const auto without_ben = [](const rapidjson::Document& frame) {
    if (!frame.HasMember("data") || !frame["data"].IsObject() || !frame["data"].HasMember("group"))
      return false;
    const auto& list = frame["data"]["group"]["members"];
    return std::none_of(list.Begin(), list.End(), [](const auto& m) { return m == "ben"; });
  };
  bool ben_left = false;
  for (int i = 0; i < 20 && !ben_left; ++i) ben_left = without_ben(members[0].next_json());
  REQUIRE(ben_left);
  dan.send(join_frame("room", 5));
  const auto joined = dan.next_json();
  CHECK(joined["reply_to"].GetUint64() == 5);
  CHECK(joined["data"]["group"]["members"].Size() == 3);
}

TEST_CASE("connect keys: at the cap of pending keys connect answers 503 with Retry-After: 1") {
  auto options = test_options();
  options.connect_keys.max_pending = 3;
  server_fixture server(options);
  std::vector<std::string> urls;
  for (int i = 0; i < 3; ++i) {
    const auto reply = connect_with(server.port(), "", "user" + std::to_string(i));
    REQUIRE(reply.status == 200);
    urls.push_back(url_of(reply));
  }
  const auto refused = connect_with(server.port(), "", "user3");
  CHECK(refused.status == 503);
  CHECK(refused.body == "too many pending connects\n");
  CHECK(refused.header("Retry-After") == std::optional<std::string>("1"));
  // A used key is no longer pending: there is room for one more.
  ws_client used(server.port(), urls.front());
  REQUIRE(used.is_open());
  CHECK(eventually([&] { return connect_with(server.port(), "", "user3").status == 200; }));
}

TEST_CASE(
    "the rate limit counts bytes: a frame beyond the byte budget is refused without reply_to") {
  auto options = test_options();
  options.rtm.connection.rate_limit.bytes_per_second = 1;  // no refill to speak of
  options.rtm.connection.rate_limit.burst_bytes = 10'000;
  server_fixture server(options);
  auto flooder = server.open_after_hello("flooder");
  const std::string pad(4'000, 'p');
  std::string frames;
  for (int id = 1; id <= 3; ++id)
    frames += encode_frame(
        opcode::text, R"({"type":"ping","id":)" + std::to_string(id) + R"(,"pad":")" + pad + "\"}");
  flooder->send_raw(frames);
  for (int id = 1; id <= 2; ++id) {
    const auto pong = flooder->next_text();
    REQUIRE(pong.has_value());
    CHECK(parse_json(*pong)["id"].GetUint64() == uint64_t(id));
  }
  CHECK(flooder->next_text() ==
        std::optional<std::string>(
            R"({"type":"error","error":{"code":"bad_message","msg":"rate limit exceeded"}})"));
  // Small frames still fit into what is left.
  flooder->send_text(R"({"type":"ping","id":4})");
  CHECK(flooder->next_text() == std::optional<std::string>(R"({"id":4,"type":"pong"})"));
}

TEST_CASE("RE2 (D22): an invalid --public-guest-access-regexp stays a startup error") {
  const auto result = run_binary({KWM_SERVER_BINARY, "serve", "--listen", "127.0.0.1:0",
                                  "--public-guest-access-regexp", "group/(public"},
                                 std::chrono::seconds(10));
  CHECK(result.status == 1);
  CHECK(result.err == "Error: invalid --public-guest-access-regexp: missing ): group/(public\n");
}
