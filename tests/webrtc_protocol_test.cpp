// Unit tests of the webrtc parts of protocol/: the channel hash vectors (spec §8.2),
// every validation text (§3.18), and the exact forwarded JSON shapes (§3.10–§3.13).
#include <doctest/doctest.h>

#include <variant>

#include "protocol/base64.hpp"
#include "protocol/channel_hash.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/webrtc_output.hpp"
#include "protocol/webrtc_rules.hpp"

using namespace kwm::protocol;

namespace {

channel_hasher vector_hasher() {
  std::string key;
  for (int i = 0; i < 32; ++i) key += static_cast<char>(i);
  return channel_hasher(key);
}

webrtc_message parse_webrtc(std::string_view text) {
  auto frame = parse_client_frame(text);
  REQUIRE(std::holds_alternative<webrtc_message>(frame));
  return std::get<webrtc_message>(frame);
}

std::optional<std::string> call_error(std::string_view text) {
  auto error = check_call_request(parse_webrtc(text), "alice");
  return error ? std::optional<std::string>(*error) : std::nullopt;
}

std::optional<std::string> answer_error(std::string_view text) {
  auto error = check_answer(parse_webrtc(text), "bob");
  return error ? std::optional<std::string>(*error) : std::nullopt;
}

std::optional<std::string> signal_error(std::string_view text) {
  auto error = check_signal(parse_webrtc(text));
  return error ? std::optional<std::string>(*error) : std::nullopt;
}

std::optional<std::string> group_error(std::string_view text) {
  auto error = check_group_join(parse_webrtc(text));
  return error ? std::optional<std::string>(*error) : std::nullopt;
}

const std::string call_channel = "*6uswzKyJS4QDZJzyyZA-OwzQWtNU4wNi";

}  // namespace

TEST_CASE("channel hash test vectors") {
  const auto hasher = vector_hasher();
  CHECK(hasher.hash("alice", "bob", call_channel) == "WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4=");
  CHECK(hasher.hash("bob", "alice", call_channel) == "WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4=");
  CHECK(hasher.hash("alice", "mygroup", "@mygroup") == "8uwBZYTC4A9fHLEa9l274tzdWvmTL4RGIEu11M+CLLc=");
  CHECK(hasher.hash("bob", "mygroup", "@mygroup") == "zg/fXZAJOYh8rg9XhrLbGXVpViD/LZOR8CEuJqrmWoM=");
  CHECK(hasher.hash("alice", "bob", "@mygroup") == "RfBYCHUJ+dHiq49wWvypNbkB6959YJeu9tf6CG1/fe0=");
  const auto raw = base64_decode("WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4=", base64_alphabet::standard);
  REQUIRE(raw);
  CHECK(hasher.matches(*raw, "bob", "alice", call_channel));
  CHECK_FALSE(hasher.matches(*raw, "bob", "carol", call_channel));
  CHECK_FALSE(hasher.matches(raw->substr(1), "bob", "alice", call_channel));
  // A fresh process key gives different hashes.
  CHECK(channel_hasher::with_random_key().hash("alice", "bob", call_channel) !=
        hasher.hash("alice", "bob", call_channel));
}

TEST_CASE("hash and group checks in the spec's order") {
  const auto hasher = vector_hasher();
  auto check = [&](std::string_view text, std::string_view source, bool pipelined = false) {
    auto error = check_channel_hash(hasher, parse_webrtc(text), source, pipelined);
    return error ? std::string(*error) : std::string("ok");
  };
  const std::string pairwise = R"("hash":"WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4=")";
  CHECK(check(R"({"type":"webrtc","target":"alice","channel":")" + call_channel + R"(",)" + pairwise + "}",
              "bob") == "ok");
  CHECK(check(R"({"type":"webrtc","target":"carol","channel":")" + call_channel + R"(",)" + pairwise + "}",
              "bob") == "invalid hash");
  CHECK(check(R"({"type":"webrtc","target":"alice","group":"g","channel":"@other","hash":"x"})", "bob") ==
        "invalid channel for group");
  CHECK(check(R"({"type":"webrtc","target":"alice","channel":"*c"})", "bob") == "missing hash");
  CHECK(check(R"({"type":"webrtc","target":"alice","channel":"*c","hash":"***"})", "bob") ==
        "hash decode error");
  CHECK(check(R"({"type":"webrtc","channel":"*c","hash":"AAAA"})", "bob") == "missing target");
  CHECK(check(R"({"type":"webrtc","target":"x","channel":"*c","hash":"AAAA"})", "bob", true) == "ok");
  // In a group, the sender's group hash and the pairwise hash both pass.
  const std::string group_hash = R"("hash":"8uwBZYTC4A9fHLEa9l274tzdWvmTL4RGIEu11M+CLLc=")";
  const std::string pair_hash = R"("hash":"RfBYCHUJ+dHiq49wWvypNbkB6959YJeu9tf6CG1/fe0=")";
  CHECK(check(R"({"type":"webrtc","target":"bob","group":"mygroup","channel":"@mygroup",)" + group_hash + "}",
              "alice") == "ok");
  CHECK(check(R"({"type":"webrtc","target":"bob","group":"mygroup","channel":"@mygroup",)" + pair_hash + "}",
              "alice") == "ok");
  CHECK(check(R"({"type":"webrtc","target":"bob","group":"mygroup","channel":"@mygroup",)" + group_hash + "}",
              "bob") == "invalid hash");
}

TEST_CASE("call request validation texts") {
  const std::string ok = R"({"type":"webrtc","subtype":"webrtc_call","target":"bob","state":"s","initiator":true)";
  CHECK(call_error(ok + "}") == std::nullopt);
  CHECK(call_error(ok + R"(,"channel":"","hash":"","group":"","transaction":""})") == std::nullopt);
  CHECK(call_error(R"({"type":"webrtc","state":"s"})") == "target is empty");
  CHECK(call_error(R"({"type":"webrtc","target":null,"state":"s"})") == "target is empty");
  CHECK(call_error(R"({"type":"webrtc","target":"alice","state":"s"})") == "target same as source");
  CHECK(call_error(R"({"type":"webrtc","target":"bob"})") == "state is empty");
  CHECK(call_error(ok + R"(,"source":"mallory"})") == "source must be empty");
  CHECK(call_error(ok + R"(,"channel":"*x"})") == "channel and hash must be empty");
  CHECK(call_error(ok + R"(,"hash":"h"})") == "channel and hash must be empty");
  CHECK(call_error(ok + R"(,"data":{}})") == "data must be empty");
  CHECK(call_error(ok + R"(,"data":null})") == "data must be empty");
}

TEST_CASE("answer, signal and group join validation texts") {
  const std::string answer =
      R"({"type":"webrtc","subtype":"webrtc_call","target":"alice","state":"b","channel":"*c","hash":"h")";
  CHECK(answer_error(answer + R"(,"data":{"accept":true}})") == std::nullopt);
  CHECK(answer_error(R"({"type":"webrtc","state":"b"})") == "target is empty");
  CHECK(answer_error(R"({"type":"webrtc","target":"bob","state":"b"})") == "target same as source");
  CHECK(answer_error(R"({"type":"webrtc","target":"alice"})") == "state is empty");
  CHECK(answer_error(answer + R"(,"source":"x","data":{}})") == "source must be empty");
  CHECK(answer_error(answer + "}") == "channel, hash or data is empty");
  CHECK(answer_error(answer + R"(,"data":null})") == "channel, hash or data is empty");
  CHECK(answer_error(R"({"type":"webrtc","target":"alice","state":"b","hash":"h","data":{}})") ==
        "channel, hash or data is empty");

  const std::string signal = R"({"type":"webrtc","subtype":"webrtc_signal","target":"bob","state":"a","channel":"*c","hash":"h")";
  CHECK(signal_error(signal + R"(,"data":{"type":"offer"}})") == std::nullopt);
  CHECK(signal_error(R"({"type":"webrtc","channel":"*c"})") == "state is empty");
  CHECK(signal_error(signal + R"(,"source":"x","data":{}})") == "source must be empty");
  CHECK(signal_error(signal + R"(,"data":null})") == "channel hash or data is empty");
  CHECK(signal_error(R"({"type":"webrtc","state":"a","hash":"h","data":1})") == "channel hash or data is empty");

  CHECK(group_error(R"({"type":"webrtc","target":"g","group":"g","state":"s"})") == std::nullopt);
  CHECK(group_error(R"({"type":"webrtc","group":"g","state":"s"})") == "target is empty");
  CHECK(group_error(R"({"type":"webrtc","target":"g","group":"h","state":"s"})") == "target and group mismatch");
  CHECK(group_error(R"({"type":"webrtc","target":"g","group":"g"})") == "state is empty");
  CHECK(group_error(R"({"type":"webrtc","target":"g","group":"g","state":"s","source":"x"})") ==
        "source must be empty");
}

TEST_CASE("answer data type errors and the envelope checks") {
  CHECK(check_answer_data(parse_webrtc(R"({"type":"webrtc","data":"str"})")) == "invalid type for field data");
  CHECK(check_answer_data(parse_webrtc(R"({"type":"webrtc","data":{"accept":"yes"}})")) ==
        "invalid type for field data.accept");
  CHECK(check_answer_data(parse_webrtc(R"({"type":"webrtc","data":{"accept":false,"reason":"reject"}})")) ==
        std::nullopt);

  auth_record user;
  user.user_id = "alice";
  CHECK_FALSE(check_has_user(user));
  auth_record idless;
  const auto no_user = check_has_user(idless);
  REQUIRE(no_user);
  CHECK(no_user->message == "connection has no user");

  const auto profile = check_webrtc_envelope(parse_webrtc(R"({"type":"webrtc","profile":"x"})"), user);
  REQUIRE(profile);
  CHECK(profile->code == error_code::bad_message);
  CHECK(profile->message == "profile cannot be set by client");
  CHECK_FALSE(check_webrtc_envelope(parse_webrtc(R"({"type":"webrtc","profile":null})"), user));

  auth_record guest = user;
  guest.group_restriction = std::set<std::string>{"group/public/room1"};
  const auto restricted = check_webrtc_envelope(parse_webrtc(R"({"type":"webrtc","group":"other"})"), guest);
  REQUIRE(restricted);
  CHECK(restricted->code == error_code::access_restricted);
  CHECK(restricted->message == "access denied");
  CHECK_FALSE(check_webrtc_envelope(parse_webrtc(R"({"type":"webrtc","group":"group/public/room1"})"), guest));
  CHECK(check_webrtc_envelope(parse_webrtc(R"({"type":"webrtc"})"), guest));  // no 1:1 calls for guests
}

TEST_CASE("forwarded messages have the spec's keys in the spec's order") {
  const std::string hash = "R0LqVojbaZ9j2ikMag5HJK1ONk+jdnjX081tXpz06Eg=";
  auto call = parse_webrtc(
      R"({"type":"webrtc","subtype":"webrtc_call","id":2,"target":"bob","source":"","initiator":true,"state":"astate",)"
      R"("channel":"","hash":"","group":"","transaction":"tx1","v":20180703,"unknown":5})");
  call.channel = call_channel;
  CHECK(render_forwarded(call, {"alice", std::string_view(""), std::string_view(hash)}) ==
        R"({"type":"webrtc","subtype":"webrtc_call","target":"bob","source":"alice","profile":{},"initiator":true,)"
        R"("state":"astate","channel":"*6uswzKyJS4QDZJzyyZA-OwzQWtNU4wNi","hash":"R0LqVojbaZ9j2ikMag5HJK1ONk+jdnjX081tXpz06Eg=",)"
        R"("v":20180703,"transaction":"tx1"})");

  const auto answer = parse_webrtc(
      R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":"alice","initiator":false,"state":"bstate",)"
      R"("channel":"*6uswzKyJS4QDZJzyyZA-OwzQWtNU4wNi","hash":"R0LqVojbaZ9j2ikMag5HJK1ONk+jdnjX081tXpz06Eg=",)"
      R"("group":"","transaction":"tx1","v":20180703,"data":{"accept":true,"state":"astate"}})");
  CHECK(render_forwarded(answer, {"bob", std::string_view("Bob B"), std::nullopt}) ==
        R"({"type":"webrtc","subtype":"webrtc_call","target":"alice","source":"bob","profile":{"name":"Bob B"},)"
        R"("state":"bstate","channel":"*6uswzKyJS4QDZJzyyZA-OwzQWtNU4wNi","hash":"R0LqVojbaZ9j2ikMag5HJK1ONk+jdnjX081tXpz06Eg=",)"
        R"("v":20180703,"transaction":"tx1","data":{"accept":true,"state":"astate"}})");

  const auto signal = parse_webrtc(
      R"({"type":"webrtc","subtype":"webrtc_signal","id":3,"target":"bob","state":"astate","channel":"*c","hash":"h",)"
      R"("pcid":"pc1","data":{"type":"offer","sdp":"v=0"}})");
  CHECK(render_forwarded(signal, {"alice", std::nullopt, std::nullopt}) ==
        R"({"type":"webrtc","subtype":"webrtc_signal","target":"bob","source":"alice","state":"astate","channel":"*c",)"
        R"("hash":"h","v":0,"pcid":"pc1","data":{"type":"offer","sdp":"v=0"}})");
  forward_options into_pipeline{"alice", std::nullopt, std::nullopt, true};
  CHECK(render_forwarded(signal, into_pipeline).rfind(R"({"id":3,"type":"webrtc",)", 0) == 0);

  CHECK(render_taken_elsewhere("alice", "*Y6LKVcJl0zfUKPqUZA9beu_WhO7RLF-8") ==
        R"({"type":"webrtc","subtype":"webrtc_call","target":"","source":"alice","initiator":true,)"
        R"("channel":"*Y6LKVcJl0zfUKPqUZA9beu_WhO7RLF-8","v":20180703})");
  CHECK(render_channel_message(2, call_channel, hash, {}) ==
        R"({"type":"webrtc","subtype":"webrtc_channel","reply_to":2,"channel":"*6uswzKyJS4QDZJzyyZA-OwzQWtNU4wNi",)"
        R"("hash":"R0LqVojbaZ9j2ikMag5HJK1ONk+jdnjX081tXpz06Eg=","v":20180703})");
}

TEST_CASE("join and leave notices use the display name or the user id") {
  const auto joined = membership_notice("bob", "", true, 1795682649);
  CHECK(joined.text == "bob has joined the meeting.");
  CHECK(joined.kind == "system");
  CHECK(joined.sender == "bob");
  CHECK(joined.id.size() == 16);
  CHECK(joined.extra.text == R"({"id":"joined"})");
  const auto left = membership_notice("bob", "Bob B", false, 1795682649);
  CHECK(left.text == "Bob B has left the meeting.");
  CHECK(left.extra.text == R"({"id":"left"})");
  auto fixed = joined;
  fixed.id = "RnqXYPOeRzjxYMXT";
  CHECK(render_chats("chats_system", "@mygroup", std::string_view(""), fixed) ==
        R"({"type":"chats","subtype":"chats_system","channel":"@mygroup","profile":{},"v":20201201,)"
        R"("data":{"kind":"system","sender":"bob","target":"","ts":1795682649,"text":"bob has joined the meeting.",)"
        R"("id":"RnqXYPOeRzjxYMXT","extra":{"id":"joined"}}})");
}
