// End-to-end 1:1 calls through a real server (spec §3.10–§3.13, checklist §12.8): the
// full call flow, several devices per user, and every error a client can provoke.
#include <doctest/doctest.h>

#include "support/rtm_peer.hpp"

using namespace kwm::test;

namespace {

constexpr const char* webrtc_v = R"("v":20180703)";

std::string str(const rapidjson::Value& value, const char* key) {
  REQUIRE(value.HasMember(key));
  return value[key].GetString();
}

struct placed_call {
  std::string channel;
  std::string hash;
};

// alice calls bob; checks alice's channel reply and returns the channel and hash.
placed_call place_call(rtm_peer& caller, const std::string& callee, uint64_t id = 2) {
  caller.send(R"({"type":"webrtc","subtype":"webrtc_call","id":)" + std::to_string(id) + R"(,"target":")" +
              callee + R"(","source":"","initiator":true,"state":"astate","channel":"","hash":"","group":"",)"
              R"("transaction":"tx1",)" + webrtc_v + "}");
  const auto reply = caller.next_json();
  REQUIRE(reply.IsObject());
  placed_call call{str(reply, "channel"), str(reply, "hash")};
  CHECK(call.channel.size() == 33);
  CHECK(call.channel[0] == '*');
  CHECK(call.hash.size() == 44);
  CHECK(caller.ws->handshake.status == 101);
  return call;
}

std::string forwarded_call(const placed_call& call, const std::string& callee) {
  return R"({"type":"webrtc","subtype":"webrtc_call","target":")" + callee +
         R"(","source":"alice","profile":{},"initiator":true,"state":"astate","channel":")" + call.channel +
         R"(","hash":")" + call.hash + R"(",)" + webrtc_v + R"(,"transaction":"tx1"})";
}

std::string answer(const placed_call& call, const std::string& data, uint64_t id = 1,
                   const std::string& state = "bstate", const std::string& hash = "") {
  return R"({"type":"webrtc","subtype":"webrtc_call","id":)" + std::to_string(id) +
         R"(,"target":"alice","initiator":false,"state":")" + state + R"(","channel":")" + call.channel +
         R"(","hash":")" + (hash.empty() ? call.hash : hash) + R"(","group":"","transaction":"tx1",)" + webrtc_v +
         R"(,"data":)" + data + "}";
}

std::string signal(const std::string& subtype, const placed_call& call, const std::string& target,
                   const std::string& data, uint64_t id = 3) {
  return R"({"type":"webrtc","subtype":")" + subtype + R"(","id":)" + std::to_string(id) + R"(,"target":")" +
         target + R"(","state":"s1","channel":")" + call.channel + R"(","hash":")" + call.hash +
         R"(","pcid":"pc1",)" + webrtc_v + R"(,"data":)" + data + "}";
}

std::string error_frame(uint64_t reply_to, const std::string& message) {
  return R"({"type":"error","reply_to":)" + std::to_string(reply_to) +
         R"(,"error":{"code":"bad_message","msg":")" + message + R"("}})";
}

bool is_notice(const std::string& frame, const std::string& text) {
  const auto doc = parse_json(frame);
  return doc.IsObject() && str(doc, "subtype") == "chats_system" && str(doc["data"], "text") == text;
}

}  // namespace

TEST_CASE_FIXTURE(server_fixture, "a full call: request, accept, signals both ways, hangup") {
  for (bool v1 : {false, true}) {
    CAPTURE(v1);
    rtm_peer alice(*this, "alice", v1);
    rtm_peer bob(*this, "bob", !v1);
    const auto call = place_call(alice, "bob");
    CHECK(bob.next() == forwarded_call(call, "bob"));

    // D21, as the original: the relayed answer, then the notice of the join it caused.
    bob.send(answer(call, R"({"accept":true,"state":"astate"})"));
    CHECK(
        alice.next() ==
        R"({"type":"webrtc","subtype":"webrtc_call","target":"alice","source":"bob","profile":{},"state":"bstate","channel":")" +
            call.channel + R"(","hash":")" + call.hash + R"(",)" + webrtc_v +
            R"(,"transaction":"tx1","data":{"accept":true,"state":"astate"}})");
    const auto joined = alice.next();
    CHECK(is_notice(joined, "bob has joined the meeting."));
    const auto notice = parse_json(joined);
    CHECK(str(notice, "channel") == call.channel);
    CHECK(notice["v"].GetUint64() == 20201201);
    CHECK(str(notice["data"]["extra"], "id") == "joined");

    alice.send(signal("webrtc_signal", call, "bob", R"({"type":"offer","sdp":"v=0"})"));
    CHECK(bob.next() == R"({"type":"webrtc","subtype":"webrtc_signal","target":"bob","source":"alice","state":"s1","channel":")" +
                            call.channel + R"(","hash":")" + call.hash + R"(",)" + webrtc_v +
                            R"(,"pcid":"pc1","data":{"type":"offer","sdp":"v=0"}})");
    bob.send(signal("webrtc_signal", call, "alice", R"({"candidate":{"c":1}})"));
    CHECK(str(alice.next_json(), "source") == "bob");

    // D21: the target gets the hangup before the notice of the leave it caused.
    bob.send(signal("webrtc_hangup", call, "alice",
                    R"({"accept":false,"reason":"hangup","state":"astate"})"));
    const auto hangup = alice.next_json();
    CHECK(str(hangup, "subtype") == "webrtc_hangup");
    CHECK(str(hangup, "source") == "bob");
    CHECK_FALSE(hangup.HasMember("id"));
    CHECK(is_notice(alice.next(), "bob has left the meeting."));
    CHECK(bob.until_pong().empty());
  }
}

TEST_CASE_FIXTURE(server_fixture, "a call to an offline user gets only the channel reply") {
  rtm_peer alice(*this, "alice");
  place_call(alice, "nobody");
  CHECK(alice.until_pong().empty());
}

TEST_CASE_FIXTURE(server_fixture, "a rejection is forwarded without a join") {
  rtm_peer alice(*this, "alice");
  rtm_peer bob(*this, "bob");
  const auto call = place_call(alice, "bob");
  bob.next();
  bob.send(answer(call, R"({"accept":false,"reason":"reject","state":"astate"})"));
  const auto rejection = alice.next_json();
  CHECK(str(rejection, "source") == "bob");
  CHECK(rejection["data"]["accept"].GetBool() == false);
  CHECK(str(rejection["data"], "reason") == "reject");
  // A busy rejection from a single device is forwarded too.
  const auto second = place_call(alice, "bob", 5);
  bob.next();
  bob.send(answer(second, R"({"accept":false,"reason":"reject_busy","state":"astate"})"));
  CHECK(str(alice.next_json()["data"], "reason") == "reject_busy");
}

TEST_CASE_FIXTURE(server_fixture, "two devices: busy is dropped, the other device answers, the first hears it was taken") {
  rtm_peer alice(*this, "alice");
  rtm_peer phone(*this, "bob");
  rtm_peer laptop(*this, "bob");
  const auto call = place_call(alice, "bob");
  CHECK(phone.next() == forwarded_call(call, "bob"));
  CHECK(laptop.next() == forwarded_call(call, "bob"));

  phone.send(answer(call, R"({"accept":false,"reason":"reject_busy","state":"astate"})", 1, "phone"));
  CHECK(phone.until_pong().empty());
  laptop.send(answer(call, R"({"accept":true,"state":"astate"})", 1, "laptop"));
  CHECK(str(alice.next_json(), "state") == "laptop");  // the busy rejection never arrived
  CHECK(is_notice(alice.next(), "bob has joined the meeting."));
  CHECK(phone.next() == R"({"type":"webrtc","subtype":"webrtc_call","target":"","source":"alice","initiator":true,"channel":")" +
                            call.channel + R"(",)" + webrtc_v + "}");

  // D4: the other device cannot answer into the channel, and the call keeps working.
  phone.send(answer(call, R"({"accept":true,"state":"astate"})", 7, "phone"));
  CHECK(phone.next() == error_frame(7, "id already exists"));
  alice.send(signal("webrtc_signal", call, "bob", R"({"type":"offer"})"));
  CHECK(str(laptop.next_json(), "subtype") == "webrtc_signal");
  CHECK(phone.until_pong().empty());
  laptop.send(signal("webrtc_hangup", call, "alice",
                     R"({"accept":false,"reason":"hangup","state":"astate"})"));
  CHECK(str(alice.next_json(), "subtype") == "webrtc_hangup");
  CHECK(is_notice(alice.next(), "bob has left the meeting."));
}

TEST_CASE_FIXTURE(server_fixture, "a hangup before the answer reaches every device of the callee") {
  rtm_peer alice(*this, "alice");
  rtm_peer phone(*this, "bob");
  rtm_peer laptop(*this, "bob");
  const auto call = place_call(alice, "bob");
  phone.next();
  laptop.next();
  alice.send(signal("webrtc_hangup", call, "bob", R"({"accept":false,"reason":"hangup","state":""})"));
  for (auto* device : {&phone, &laptop}) {
    const auto hangup = device->next_json();
    CHECK(str(hangup, "subtype") == "webrtc_hangup");
    CHECK(str(hangup, "source") == "alice");
    CHECK(str(hangup, "target") == "bob");
  }
}

TEST_CASE_FIXTURE(server_fixture, "answer errors keep the connection open") {
  rtm_peer alice(*this, "alice");
  rtm_peer bob(*this, "bob");
  const auto call = place_call(alice, "bob");
  bob.next();
  placed_call unknown{"*AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", call.hash};
  bob.send(answer(unknown, R"({"accept":true})", 11));
  CHECK(bob.next() == error_frame(11, "channel not found"));
  bob.send(answer(call, R"({"accept":true})", 12, "bstate", "WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4="));
  CHECK(bob.next() == error_frame(12, "invalid hash"));
  bob.send(answer(call, R"({"accept":true})", 13, "bstate", "not*base64"));
  CHECK(bob.next() == error_frame(13, "hash decode error"));
  bob.send(answer(call, "null", 14));
  CHECK(bob.next() == error_frame(14, "channel, hash or data is empty"));
  bob.send(answer(call, R"("str")", 15));
  CHECK(bob.next() == error_frame(15, "invalid type for field data"));
  bob.send(answer(call, R"({"accept":"yes"})", 16));
  CHECK(bob.next() == error_frame(16, "invalid type for field data.accept"));
  bob.send(R"({"type":"webrtc","subtype":"webrtc_call","id":17,"target":"alice","state":"b","profile":{}})");
  CHECK(bob.next() == error_frame(17, "profile cannot be set by client"));
  bob.send(R"({"type":"webrtc","subtype":"webrtc_nonsense","id":18})");
  CHECK(bob.next() == error_frame(18, "unknown subtype"));
  CHECK(alice.until_pong().empty());
  // Still a working call.
  bob.send(answer(call, R"({"accept":true,"state":"astate"})", 19));
  CHECK(str(alice.next_json(), "source") == "bob");
  CHECK(is_notice(alice.next(), "bob has joined the meeting."));
}

TEST_CASE_FIXTURE(server_fixture, "call request and signal errors") {
  rtm_peer alice(*this, "alice");
  const std::string head = R"({"type":"webrtc","subtype":"webrtc_call","initiator":true,"id":)";
  alice.send(head + R"(1,"state":"s"})");
  CHECK(alice.next() == error_frame(1, "target is empty"));
  alice.send(head + R"(2,"target":"alice","state":"s"})");
  CHECK(alice.next() == error_frame(2, "target same as source"));
  alice.send(head + R"(3,"target":"bob"})");
  CHECK(alice.next() == error_frame(3, "state is empty"));
  alice.send(head + R"(4,"target":"bob","state":"s","source":"x"})");
  CHECK(alice.next() == error_frame(4, "source must be empty"));
  alice.send(head + R"(5,"target":"bob","state":"s","channel":"*x"})");
  CHECK(alice.next() == error_frame(5, "channel and hash must be empty"));
  alice.send(head + R"(6,"target":"bob","state":"s","data":null})");
  CHECK(alice.next() == error_frame(6, "data must be empty"));

  rtm_peer bob(*this, "bob");
  const auto call = place_call(alice, "bob", 7);
  bob.next();
  alice.send(signal("webrtc_signal", call, "bob", "null", 8));
  CHECK(alice.next() == error_frame(8, "channel hash or data is empty"));
  alice.send(signal("webrtc_signal", call, "", R"({"x":1})", 9));
  CHECK(alice.next() == error_frame(9, "missing target"));
  alice.send(signal("webrtc_signal", {call.channel, "WVlipRWKIqPdkG5ezL+77B7yx/o1OaW5y3kCcLLtxn4="}, "bob",
                    R"({"x":1})", 10));
  CHECK(alice.next() == error_frame(10, "invalid hash"));
  // bob has not answered, so he is not in the channel: swallowed without a reply.
  alice.send(signal("webrtc_signal", call, "bob", R"({"x":1})", 11));
  CHECK(alice.until_pong().empty());
  CHECK(bob.until_pong().empty());
}

TEST_CASE_FIXTURE(server_fixture, "a member whose connection dies leaves the channel") {
  rtm_peer alice(*this, "alice");
  auto bob = std::make_unique<rtm_peer>(*this, "bob");
  const auto call = place_call(alice, "bob");
  bob->next();
  bob->send(answer(call, R"({"accept":true,"state":"astate"})"));
  alice.next();  // the answer
  CHECK(is_notice(alice.next(), "bob has joined the meeting."));
  bob->ws->socket.reset();  // abrupt TCP reset
  CHECK(is_notice(alice.next(), "bob has left the meeting."));
}
