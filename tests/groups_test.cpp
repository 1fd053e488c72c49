// End-to-end group meetings and chats (spec §3.14, §3.16, checklist §12.9–§12.10).
#include <doctest/doctest.h>

#include <thread>

#include "support/rtm_peer.hpp"

using namespace kwm::test;

namespace {

std::string str(const rapidjson::Value& value, const char* key) {
  REQUIRE(value.HasMember(key));
  return value[key].GetString();
}

std::vector<std::string> members_of(const rapidjson::Value& message) {
  std::vector<std::string> members;
  for (const auto& m : message["data"]["group"]["members"].GetArray()) members.push_back(m.GetString());
  return members;
}

std::string join_request(const std::string& group, uint64_t id = 1, const std::string& state = "gs") {
  return R"({"type":"webrtc","subtype":"webrtc_group","id":)" + std::to_string(id) + R"(,"target":")" + group +
         R"(","group":")" + group + R"(","initiator":false,"state":")" + state +
         R"(","channel":"","hash":"","transaction":"","v":20180703})";
}

// Joins and returns the reply (checked to be a join reply with reset:true).
rapidjson::Document join(rtm_peer& peer, const std::string& group, uint64_t id = 1) {
  peer.send(join_request(group, id));
  auto reply = peer.next_json();
  REQUIRE(reply.IsObject());
  CHECK(str(reply, "subtype") == "webrtc_channel");
  CHECK(reply["reply_to"].GetUint64() == id);
  CHECK(str(reply, "channel") == "@" + group);
  CHECK(str(reply, "hash").size() == 44);
  CHECK(reply["data"]["group"]["reset"].GetBool());
  return reply;
}

// The "joined"/"left" notice, then the member list update, as another member sees them.
void expect_change(rtm_peer& peer, const std::string& notice, const std::vector<std::string>& members) {
  if (!notice.empty()) {
    const auto chat = peer.next_json();
    CHECK(str(chat, "subtype") == "chats_system");
    CHECK(str(chat["data"], "text") == notice);
  }
  const auto update = peer.next_json();
  CHECK(str(update, "subtype") == "webrtc_channel");
  CHECK_FALSE(update.HasMember("reply_to"));
  CHECK_FALSE(update.HasMember("hash"));
  CHECK_FALSE(update["data"]["group"]["reset"].GetBool());
  CHECK(members_of(update) == members);
}

std::string mesh_answer(const std::string& group, const std::string& target, const std::string& hash,
                        bool accept = true, uint64_t id = 5, const std::string& channel_group = "") {
  const auto g = channel_group.empty() ? group : channel_group;
  return R"({"type":"webrtc","subtype":"webrtc_call","id":)" + std::to_string(id) + R"(,"target":")" + target +
         R"(","group":")" + g + R"(","state":")" + group + R"(","channel":"@)" + group + R"(","hash":")" + hash +
         R"(","initiator":false,"transaction":"","v":20180703,"data":{"accept":)" + (accept ? "true" : "false") +
         R"(,"state":")" + group + R"("}})";
}

std::string group_signal(const std::string& group, const std::string& target, const std::string& hash,
                         const std::string& subtype = "webrtc_signal") {
  return R"({"type":"webrtc","subtype":")" + subtype + R"(","id":9,"target":")" + target + R"(","group":")" +
         group + R"(","state":")" + group + R"(","channel":"@)" + group + R"(","hash":")" + hash +
         R"(","v":20180703,"data":{"type":"offer"}})";
}

// A member whose client reads nothing, with socket buffers of 4 KB (the server's too, through
// the options), so that what the server sends it soon waits in its queue.
rtm_peer non_reader(server_fixture& server, const std::string& user) {
  return rtm_peer(user, std::make_unique<ws_client>(server.port(), server.connect(user),
                                                    std::vector<std::pair<std::string, std::string>>{},
                                                    4096));
}

// 40 chats of 16 KB from `sender` to the group: far more than a non-reader's socket buffers
// hold, far less than its outgoing queue holds. Returns once the channel has delivered them.
void fill_buffers_with_chats(rtm_peer& sender, const std::string& group) {
  const std::string chat = R"({"type":"chats","subtype":"chats_message","id":7,"channel":"@)" + group +
                           R"(","data":{"text":")" + std::string(16000, 'x') + R"("}})";
  for (int i = 0; i < 40; ++i) sender.send(chat);
  sender.until_pong();
}

std::string error_frame(uint64_t reply_to, const std::string& message) {
  return R"({"type":"error","reply_to":)" + std::to_string(reply_to) +
         R"(,"error":{"code":"bad_message","msg":")" + message + R"("}})";
}

}  // namespace

TEST_CASE_FIXTURE(server_fixture, "three members: join, mesh, leave, replace, rejoin") {
  rtm_peer alice(*this, "alice");
  rtm_peer bob(*this, "bob");
  rtm_peer carol(*this, "carol");

  const auto alice_join = join(alice, "mygroup");
  CHECK(members_of(alice_join) == std::vector<std::string>{"alice"});
  const auto alice_hash = str(alice_join, "hash");
  const auto bob_join = join(bob, "mygroup");
  CHECK(members_of(bob_join) == std::vector<std::string>{"alice", "bob"});
  const auto bob_hash = str(bob_join, "hash");
  CHECK(bob_hash != alice_hash);
  expect_change(alice, "bob has joined the meeting.", {"alice", "bob"});
  CHECK(members_of(join(carol, "mygroup")) == std::vector<std::string>{"alice", "bob", "carol"});
  expect_change(alice, "carol has joined the meeting.", {"alice", "bob", "carol"});
  expect_change(bob, "carol has joined the meeting.", {"alice", "bob", "carol"});

  // Mesh: both ends answer with their group hash and receive the same pairwise hash.
  alice.send(mesh_answer("mygroup", "bob", alice_hash));
  const auto at_bob = bob.next_json();
  CHECK(str(at_bob, "source") == "alice");
  CHECK(str(at_bob, "group") == "mygroup");
  CHECK(at_bob["profile"].IsObject());
  const auto pairwise = str(at_bob, "hash");
  CHECK(pairwise != alice_hash);
  bob.send(mesh_answer("mygroup", "alice", bob_hash));
  const auto at_alice = alice.next_json();
  CHECK(str(at_alice, "hash") == pairwise);
  CHECK(str(at_alice, "source") == "bob");

  // Signals pass with the pairwise hash and with the sender's group hash.
  alice.send(group_signal("mygroup", "bob", pairwise));
  CHECK(str(bob.next_json(), "subtype") == "webrtc_signal");
  alice.send(group_signal("mygroup", "bob", alice_hash));
  CHECK(str(bob.next_json(), "subtype") == "webrtc_signal");
  alice.send(group_signal("mygroup", "bob", bob_hash));
  CHECK(alice.next() == error_frame(9, "invalid hash"));
  // A signal to the group itself has no pipeline here: dropped.
  alice.send(group_signal("mygroup", "mygroup", alice_hash));
  CHECK(alice.until_pong().empty());

  alice.send(mesh_answer("mygroup", "bob", alice_hash, false, 6));
  CHECK(alice.next() == error_frame(6, "accept required for group call"));
  alice.send(mesh_answer("mygroup", "bob", alice_hash, true, 7, "othergroup"));
  CHECK(alice.next() == error_frame(7, "invalid channel for group"));

  // carol leaves by hanging up to the group.
  carol.send(group_signal("mygroup", "mygroup", str(join(carol, "mygroup", 3), "hash"), "webrtc_hangup"));
  expect_change(alice, "carol has left the meeting.", {"alice", "bob"});
  expect_change(bob, "carol has left the meeting.", {"alice", "bob"});
  CHECK(carol.until_pong().empty());

  // bob joins from a second connection: the first is replaced, no "joined" notice.
  rtm_peer bob_laptop(*this, "bob");
  CHECK(members_of(join(bob_laptop, "mygroup")) == std::vector<std::string>{"alice", "bob"});
  CHECK(bob.next() == R"({"type":"webrtc","subtype":"webrtc_channel","channel":"@mygroup","v":20180703,"data":{"replaced":true}})");
  expect_change(alice, "", {"alice", "bob"});

  // Rejoining on the same connection: a fresh reply and no broadcast.
  CHECK(members_of(join(alice, "mygroup", 8)) == std::vector<std::string>{"alice", "bob"});
  CHECK(bob_laptop.until_pong().empty());

  // The old connection of bob is no member any more; the new one leaves by closing.
  bob.ws->socket.reset();
  CHECK(alice.until_pong().empty());
  bob_laptop.ws->send_close(1000);
  bob_laptop.ws->wait_close();
  expect_change(alice, "bob has left the meeting.", {"alice"});
}

TEST_CASE_FIXTURE(server_fixture, "group join errors") {
  rtm_peer alice(*this, "alice");
  alice.send(R"({"type":"webrtc","subtype":"webrtc_group","id":1,"group":"g","state":"s"})");
  CHECK(alice.next() == error_frame(1, "target is empty"));
  alice.send(R"({"type":"webrtc","subtype":"webrtc_group","id":2,"target":"g","group":"h","state":"s"})");
  CHECK(alice.next() == error_frame(2, "target and group mismatch"));
  alice.send(R"({"type":"webrtc","subtype":"webrtc_group","id":3,"target":"g","group":"g"})");
  CHECK(alice.next() == error_frame(3, "state is empty"));
  alice.send(R"({"type":"webrtc","subtype":"webrtc_group","id":4,"target":"g","group":"g","state":"s","source":"x"})");
  CHECK(alice.next() == error_frame(4, "source must be empty"));
  // `data` is ignored on joins.
  alice.send(R"({"type":"webrtc","subtype":"webrtc_group","id":5,"target":"g","group":"g","state":"s","data":null})");
  CHECK(str(alice.next_json(), "channel") == "@g");
}

TEST_CASE("a group emptied and removed is re-created with the same hashes") {
  auto options = test_options();
  options.channels.empty_lifetime = std::chrono::milliseconds(200);
  server_fixture server(options);
  rtm_peer alice(server, "alice");
  const auto first = str(join(alice, "room"), "hash");
  for (uint64_t id = 2; id < 4; ++id) {
    alice.send(group_signal("room", "room", first, "webrtc_hangup"));  // leave: the channel is empty
    CHECK(alice.until_pong().empty());
    // The subject of the test is the channel's removal once empty and older than its lifetime.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto again = join(alice, "room", id);
    CHECK(str(again, "hash") == first);
    CHECK(members_of(again) == std::vector<std::string>{"alice"});
  }
}

TEST_CASE_FIXTURE(server_fixture, "chat messages: echo, delivery, notice, and every error") {
  rtm_peer alice(*this, "alice");
  rtm_peer bob(*this, "bob");
  rtm_peer carol(*this, "carol");
  join(alice, "mygroup");
  join(bob, "mygroup");
  expect_change(alice, "bob has joined the meeting.", {"alice", "bob"});

  auto chat = [](uint64_t id, const std::string& data, const std::string& channel = "@mygroup") {
    return R"({"type":"chats","subtype":"chats_message","id":)" + std::to_string(id) + R"(,"channel":")" +
           channel + R"(","transaction":"","v":20201201,"data":)" + data + "}";
  };
  bob.send(chat(11, R"({"kind":"","sender":"","target":"","text":" hi all ","richText":"<b>hi</b>","id":"client-id","ts":5})"));
  const auto echo = bob.next_json();
  CHECK(str(echo, "subtype") == "chats_message");
  CHECK(echo["reply_to"].GetUint64() == 11);
  CHECK_FALSE(echo.HasMember("profile"));
  CHECK(echo["v"].GetUint64() == 20201201);
  const auto id = str(echo["data"], "id");
  CHECK(id.size() == 16);
  CHECK(id != "client-id");
  CHECK(echo["data"]["ts"].GetInt64() > 1700000000);
  CHECK(str(echo["data"], "sender") == "bob");
  CHECK(str(echo["data"], "text") == "hi all");
  const auto queued = bob.next_json();
  CHECK(str(queued, "subtype") == "chats_system");
  CHECK(str(queued["data"], "kind") == "delivery_queued");
  CHECK(str(queued["data"], "id") == id);
  const auto delivered = alice.next_json();
  CHECK(str(delivered, "subtype") == "chats_message");
  CHECK(delivered["profile"].IsObject());
  CHECK(str(delivered["data"], "id") == id);
  CHECK(str(delivered["data"], "richText") == "<b>hi</b>");
  CHECK(carol.until_pong().empty());

  bob.send(chat(12, R"({"text":")" + std::string(16384, 'a') + R"("})"));
  CHECK(bob.next_json()["reply_to"].GetUint64() == 12);

  struct failure {
    std::string frame;
    std::string error;
  };
  const std::vector<failure> failures = {
      {R"({"type":"chats","subtype":"chats_other","id":20,"channel":"@mygroup","data":{}})", "unknown subtype"},
      {R"({"type":"chats","subtype":"chats_message","id":20,"channel":"@mygroup"})", "channel or data is empty"},
      {chat(20, "null"), "channel or data is empty"},
      {chat(20, R"({"text":"x"})", "@nowhere"), "channel not found"},
      {chat(20, R"("x")"), "message data parse error"},
      {chat(20, R"({"text":5})"), "message data parse error"},
      {chat(20, R"({"text":"x","sender":"bob"})"), "message sender must be empty"},
      {chat(20, R"({"text":"x","target":"alice"})"), "message target must be empty"},
      {chat(20, R"({"text":")" + std::string(16385, 'a') + R"("})"), "message text size limit exceeded"},
      {chat(20, R"({"text":"x","richText":")" + std::string(18023, 'a') + R"("})"),
       "message rich text size limit exceeded"},
      {chat(20, R"({"text":"  "})"), "message text is empty"},
      {chat(20, R"({"text":"x","extra":{"a":1}})"), "message contains unexpected extra data"},
      {chat(20, R"({"text":"x","kind":"poll"})"), "unknown message kind"},
  };
  // The delivery notice of message 12 comes from the channel's owner; across nodes it may
  // follow a pong answered on bob's own node, so it is waited for by what it is.
  bool queued_12 = false;
  for (int i = 0; i < 10 && !queued_12; ++i)
    queued_12 = bob.next().find(R"("kind":"delivery_queued")") != std::string::npos;
  REQUIRE(queued_12);
  for (const auto& f : failures) {
    CAPTURE(f.error);
    bob.send(f.frame);
    CHECK(bob.next() == error_frame(20, f.error));
  }
  carol.send(chat(21, R"({"text":"let me in"})"));
  CHECK(carol.next() == error_frame(21, "connection not in channel"));
  alice.until_pong();  // message 12
  CHECK(alice.until_pong().empty());
}

TEST_CASE_FIXTURE(server_fixture, "chat works in a 1:1 call channel too") {
  rtm_peer alice(*this, "alice");
  rtm_peer bob(*this, "bob");
  alice.send(R"({"type":"webrtc","subtype":"webrtc_call","id":2,"target":"bob","initiator":true,"state":"a","v":20180703})");
  const auto reply = alice.next_json();
  const auto channel = str(reply, "channel");
  bob.next();
  bob.send(
      R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":"alice","state":"b","channel":")" +
      channel + R"(","hash":")" + str(reply, "hash") +
      R"(","v":20180703,"data":{"accept":true,"state":"a"}})");
  alice.next();  // answer
  alice.next();  // joined
  alice.send(R"({"type":"chats","subtype":"chats_message","id":3,"channel":")" + channel +
             R"(","v":20201201,"data":{"text":"hello bob"}})");
  CHECK(str(alice.next_json(), "subtype") == "chats_message");
  CHECK(str(bob.next_json()["data"], "text") == "hello bob");
}

// D21: a relay goes out before the membership side effects it causes. kwmjs drops a peer on
// the member update and then ignores its hangup ("webrtc hangup for unknown peer").
TEST_CASE_FIXTURE(
    server_fixture,
    "a group hangup reaches its target before the left notice and the member update") {
  rtm_peer alice(*this, "alice");
  rtm_peer bob(*this, "bob");
  rtm_peer carol(*this, "carol");
  join(alice, "room");
  const auto bob_hash = str(join(bob, "room"), "hash");
  expect_change(alice, "bob has joined the meeting.", {"alice", "bob"});
  join(carol, "room");
  expect_change(alice, "carol has joined the meeting.", {"alice", "bob", "carol"});
  expect_change(bob, "carol has joined the meeting.", {"alice", "bob", "carol"});

  bob.send(group_signal("room", "alice", bob_hash, "webrtc_hangup"));
  const auto hangup = alice.next_json();
  CHECK(str(hangup, "subtype") == "webrtc_hangup");
  CHECK(str(hangup, "source") == "bob");
  expect_change(alice, "bob has left the meeting.", {"alice", "carol"});
  // Not the target: only the side effects.
  expect_change(carol, "bob has left the meeting.", {"alice", "carol"});
  CHECK(carol.until_pong().empty());
  CHECK(bob.until_pong().empty());
}

// D21: the joiner learns the member list before any member can react to the new member (a
// member that meshes at once must not reach a joiner that does not know its group yet).
TEST_CASE_FIXTURE(server_fixture,
                  "a joiner gets its reply before what the others send in reaction to its join") {
  rtm_peer alice(*this, "alice");
  rtm_peer bob(*this, "bob");
  const auto alice_hash = str(join(alice, "room"), "hash");
  bob.send(join_request("room", 4));
  expect_change(alice, "bob has joined the meeting.", {"alice", "bob"});
  alice.send(mesh_answer("room", "bob", alice_hash));  // kwmjs meshes on the member update
  const auto reply = bob.next_json();
  CHECK(str(reply, "subtype") == "webrtc_channel");
  CHECK(reply["reply_to"].GetUint64() == 4);
  CHECK(members_of(reply) == std::vector<std::string>{"alice", "bob"});
  const auto answer = bob.next_json();
  CHECK(str(answer, "subtype") == "webrtc_call");
  CHECK(str(answer, "source") == "alice");
}

// D21: a member whose client sends a close frame leaves its channels when the frame arrives,
// not when its TCP connection ends. Here the server cannot even send its close reply (the
// member reads nothing and both socket buffers are full), so TCP stays up for the write wait.
TEST_CASE("a close frame announces the member as left while its TCP connection is still up") {
  auto options = test_options();
  options.server.socket_send_buffer_bytes = 4096;
  options.server.websocket.write_wait = std::chrono::seconds(120);
  server_fixture server(options);
  rtm_peer alice(server, "alice");
  auto bob = non_reader(server, "bob");
  join(alice, "room");
  join(bob, "room");
  expect_change(alice, "bob has joined the meeting.", {"alice", "bob"});
  fill_buffers_with_chats(alice, "room");
  const auto open_before = server.runtime->open_connections();
  bob.ws->send_close(1000);
  const auto left = alice.next_json();
  CHECK(str(left, "subtype") == "chats_system");
  CHECK(str(left["data"], "text") == "bob has left the meeting.");
  CHECK(members_of(alice.next_json()) == std::vector<std::string>{"alice"});
  CHECK(server.runtime->open_connections() == open_before);  // bob's socket is still open
}

// N6: member lists still waiting in a slow member's queue are replaced by the newest one, at
// the end of the queue; the notices all arrive, in order. Here alice reads nothing while bob
// joins and leaves 50 times: her socket buffers are full of chats, so everything after them
// waits in her queue.
TEST_CASE("a slow member gets every notice but only the newest member list") {
  auto options = test_options();
  options.server.socket_send_buffer_bytes = 4096;
  server_fixture server(options);
  auto alice = non_reader(server, "alice");
  rtm_peer bob(server, "bob");
  rtm_peer carol(server, "carol");
  join(alice, "room");
  join(carol, "room");
  expect_change(alice, "carol has joined the meeting.", {"alice", "carol"});
  fill_buffers_with_chats(carol, "room");
  std::string hash;
  for (uint64_t id = 1; id <= 50; ++id) {
    hash = str(join(bob, "room", id), "hash");
    bob.send(group_signal("room", "room", hash, "webrtc_hangup"));
    CHECK(bob.until_pong().empty());
  }
  carol.until_pong();  // carol is fast: she reads her 50 of each
  std::vector<std::string> notices;
  std::vector<rapidjson::Document> lists;
  while (notices.size() < 100 || lists.empty()) {
    auto frame = alice.next_json();
    REQUIRE(frame.IsObject());
    const auto subtype = str(frame, "subtype");
    if (subtype == "chats_message") continue;
    if (subtype == "chats_system") {
      CHECK(lists.empty());  // the list comes after every notice
      notices.push_back(str(frame["data"], "text"));
    } else {
      lists.push_back(std::move(frame));
    }
  }
  for (std::size_t i = 0; i < notices.size(); ++i)
    CHECK(notices[i] == (i % 2 == 0 ? "bob has joined the meeting." : "bob has left the meeting."));
  REQUIRE(lists.size() == 1);
  CHECK(members_of(lists[0]) == std::vector<std::string>{"alice", "carol"});
  CHECK(alice.until_pong().empty());
}
