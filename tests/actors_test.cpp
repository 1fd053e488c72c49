// Deterministic actor tests: connect keys on simulated time, the user directory, and
// the connection actor's frame handling, without sockets.
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <map>

#include "actors/channel_registry.hpp"
#include "actors/connection.hpp"
#include "actors/open_promises.hpp"
#include "actors/request_runner.hpp"
#include "actors/token_issuer.hpp"
#include "actors/user_directory.hpp"
#include "support/connect_keys.hpp"
#include "support/deterministic.hpp"
#include "support/recording_sink.hpp"

using namespace kwm;
using namespace kwm::actors;
using namespace std::chrono_literals;

namespace {

using test::anonymous_user;

std::shared_ptr<const rtm_context> make_context(user_directory_actor directory,
                                                connection_settings settings = {}) {
  auto context = std::make_shared<rtm_context>();
  context->directory = std::move(directory);
  context->hasher = std::make_shared<const protocol::channel_hasher>(std::string(32, 'k'));
  context->settings = settings;
  return context;
}

}  // namespace

TEST_CASE_FIXTURE(test::deterministic_fixture, "a connect key is single use") {
  auto issuer = spawn_token_issuer(system);
  sched.run();
  auto key = test::issue_key(*this, issuer, "alice");
  REQUIRE(key.has_value());
  CHECK(key->size() == 32);
  auto first = ask<redeemed_key>(issuer, redeem_atom::value, *key);
  REQUIRE(first.has_value());
  CHECK(first->found);
  CHECK(first->auth.user_id == "alice");
  auto second = ask<redeemed_key>(issuer, redeem_atom::value, *key);
  REQUIRE(second.has_value());
  CHECK_FALSE(second->found);
  auto unknown = ask<redeemed_key>(issuer, redeem_atom::value, std::string(32, 'A'));
  REQUIRE(unknown.has_value());
  CHECK_FALSE(unknown->found);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "a connect key expires strictly after 30 s") {
  auto issuer = spawn_token_issuer(system);
  sched.run();
  auto fresh = test::issue_key(*this, issuer, "a");
  REQUIRE(fresh);
  sched.advance_time(25s);
  sched.run();
  auto redeemed = ask<redeemed_key>(issuer, redeem_atom::value, *fresh);
  REQUIRE(redeemed);
  CHECK(redeemed->found);

  auto stale = test::issue_key(*this, issuer, "b");
  REQUIRE(stale);
  sched.advance_time(35s);
  sched.run();
  redeemed = ask<redeemed_key>(issuer, redeem_atom::value, *stale);
  REQUIRE(redeemed);
  CHECK_FALSE(redeemed->found);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "expired keys are swept without being redeemed") {
  auto issuer = spawn_token_issuer(system);
  sched.run();
  for (int i = 0; i < 3; ++i) REQUIRE(test::issue_key(*this, issuer, "u"));
  CHECK(deref<token_issuer_impl>(issuer).state.keys.size() == 3);
  sched.advance_time(61s);  // past the first sweep
  sched.run();
  CHECK(deref<token_issuer_impl>(issuer).state.keys.empty());
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

namespace {

using keeper_actor = caf::typed_actor<caf::replies_to<lookup_atom, std::string>::with<std::string>,
                                      caf::reacts_to<shutdown_atom>>;

struct keeper_state {
  open_promises promises;
  std::vector<shared_promise<std::string>> waiting;  // as a call to Redis in flight holds it
};

keeper_actor::behavior_type keeper(keeper_actor::stateful_pointer<keeper_state> self) {
  return {
      [=](lookup_atom, const std::string&) -> caf::typed_response_promise<std::string> {
        auto promise = self->state.promises.keep(self->make_response_promise<std::string>());
        self->state.waiting.push_back(promise);
        return promise.handle();
      },
      [=](shutdown_atom) {
        self->state.promises.fail_all();
        self->quit();
      },
  };
}

}  // namespace

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "a promise still open when its actor quits is answered with an error") {
  auto actor = system.spawn(keeper);
  sched.run();
  const auto next_reply = [&] {
    std::optional<std::string> answer;
    std::optional<caf::error> failure;
    self->receive([&](std::string& text) { answer = text; },
                  [&](caf::error& error) { failure = error; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return std::make_pair(answer, failure);
  };
  self->send(actor, lookup_atom::value, std::string("x"));
  sched.run();
  auto [answer, failure] = next_reply();
  CHECK_FALSE(answer);
  CHECK_FALSE(failure);  // still waiting
  self->send(actor, shutdown_atom::value);
  sched.run();
  std::tie(answer, failure) = next_reply();
  CHECK_FALSE(answer);
  REQUIRE(failure);
  CHECK(*failure == caf::make_error(caf::sec::request_receiver_down));
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "the directory caps, lists and forgets connections") {
  auto directory = spawn_user_directory(system);
  auto sink = std::make_shared<test::recording_sink>();
  auto spawn_for = [&](const std::string& user) {
    auto c = spawn_connection(system, anonymous_user(user), sink, make_context(directory));
    sched.run();
    return c;
  };
  auto first = spawn_for("bob");
  auto second = spawn_for("bob");
  auto third = spawn_for("bob");
  auto idless = spawn_for("");
  CHECK(ask<bool>(directory, admit_atom::value, connection_ref{"bob", "", first, sink}, uint32_t{2}) == true);
  CHECK(ask<bool>(directory, admit_atom::value, connection_ref{"bob", "", second, sink}, uint32_t{2}) == true);
  CHECK(ask<bool>(directory, admit_atom::value, connection_ref{"bob", "", third, sink}, uint32_t{2}) == false);
  CHECK(ask<bool>(directory, admit_atom::value, connection_ref{"", "", idless, sink}, uint32_t{2}) == true);
  CHECK(ask<uint64_t>(directory, count_atom::value, std::string("bob")) == uint64_t{2});
  CHECK(ask<uint64_t>(directory, count_atom::value, std::string("")) == uint64_t{0});

  // A connection that dies is removed through the monitor.
  caf::anon_send(first, closed_atom::value);
  sched.run();
  CHECK(ask<uint64_t>(directory, count_atom::value, std::string("bob")) == uint64_t{1});
  auto listed = ask<connection_list>(directory, lookup_atom::value, std::string("bob"));
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().actor == second);
  CHECK(ask<connection_list>(directory, lookup_atom::value, std::string("nobody"))->empty());

  // Shutdown ends every admitted connection, id-less ones included.
  caf::anon_send(directory, shutdown_atom::value);
  sched.run();
  CHECK(ask<uint64_t>(directory, count_atom::value, std::string("bob")) == std::nullopt);
  caf::anon_send_exit(third, caf::exit_reason::user_shutdown);
  sched.run();
  CHECK(sink->closes().size() == 4);  // every connection actor closed its socket on exit
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "a connection says hello and answers pings in order") {
  auto directory = spawn_user_directory(system);
  auto sink = std::make_shared<test::recording_sink>();
  auto connection = spawn_connection(system, anonymous_user("alice"), sink, make_context(directory));
  sched.run();
  REQUIRE(sink->frames().size() == 1);
  CHECK(sink->take_frames()[0] == R"({"type":"hello","self":{"id":"alice","name":""},"server_status":{}})");

  caf::anon_send(connection, text_atom::value, std::string(R"({"type":"ping","id":1})"));
  caf::anon_send(connection, text_atom::value, std::string(R"({"type":"ping","id":2,"ts":3})"));
  caf::anon_send(connection, binary_atom::value, uint64_t{10});
  caf::anon_send(connection, text_atom::value, std::string(R"({"type":"webrtc","id":4,"initiator":1})"));
  sched.run();
  const auto frames = sink->take_frames();
  REQUIRE(frames.size() == 3);
  CHECK(frames[0] == R"({"id":1,"type":"pong"})");
  CHECK(frames[1] == R"({"id":2,"ts":3,"type":"pong"})");
  CHECK(frames[2] ==
        R"({"type":"error","reply_to":4,"error":{"code":"bad_message","msg":"invalid type for field initiator"}})");
  CHECK(sink->closes().empty());
  CHECK_FALSE(deref<connection_impl>(connection).state.closing);
  caf::anon_send_exit(connection, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "an id-less connection may ping but not call or chat") {
  auto directory = spawn_user_directory(system);
  auto sink = std::make_shared<test::recording_sink>();
  auto connection = spawn_connection(system, anonymous_user(""), sink, make_context(directory));
  sched.run();
  sink->take_frames();
  caf::anon_send(connection, text_atom::value, std::string(R"({"type":"webrtc","subtype":"webrtc_call","id":5})"));
  caf::anon_send(connection, text_atom::value, std::string(R"({"type":"chats","subtype":"chats_message","id":6})"));
  caf::anon_send(connection, text_atom::value, std::string(R"({"type":"ping"})"));
  sched.run();
  const auto frames = sink->take_frames();
  REQUIRE(frames.size() == 3);
  CHECK(frames[0] ==
        R"({"type":"error","reply_to":5,"error":{"code":"bad_message","msg":"connection has no user"}})");
  CHECK(frames[1] ==
        R"({"type":"error","reply_to":6,"error":{"code":"bad_message","msg":"connection has no user"}})");
  CHECK(frames[2] == R"({"type":"pong"})");
  caf::anon_send_exit(connection, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "invalid JSON ends the connection with 1001") {
  auto directory = spawn_user_directory(system);
  auto sink = std::make_shared<test::recording_sink>();
  auto connection = spawn_connection(system, anonymous_user("alice"), sink, make_context(directory));
  sched.run();
  sink->take_frames();
  caf::anon_send(connection, text_atom::value, std::string("{not json"));
  caf::anon_send(connection, text_atom::value, std::string(R"({"type":"ping"})"));
  sched.run();
  CHECK(sink->take_frames().empty());  // no error message and nothing after the fatal frame
  const auto closes = sink->closes();
  REQUIRE_FALSE(closes.empty());
  CHECK(closes.front().first == net::close_code::going_away);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "rate limiting answers with errors, then closes with 1008") {
  auto directory = spawn_user_directory(system);
  auto sink = std::make_shared<test::recording_sink>();
  connection_settings settings;
  settings.rate_limit.tokens_per_second = 1;
  settings.rate_limit.burst = 2;
  settings.rate_limit.close_after_rejections = 3;
  auto connection = spawn_connection(system, anonymous_user("alice"), sink, make_context(directory, settings));
  sched.run();
  sink->take_frames();
  for (int id = 1; id <= 4; ++id)
    caf::anon_send(connection, text_atom::value,
                   std::string(R"({"type":"ping","id":)") + std::to_string(id) + "}");
  caf::anon_send(connection, binary_atom::value, uint64_t{1});  // third rejection
  sched.run();
  const auto frames = sink->take_frames();
  REQUIRE(frames.size() == 4);
  CHECK(frames[0] == R"({"id":1,"type":"pong"})");
  CHECK(frames[1] == R"({"id":2,"type":"pong"})");
  // Refused frames are not parsed (D20), so their answer has no reply_to.
  CHECK(frames[2] == R"({"type":"error","error":{"code":"bad_message","msg":"rate limit exceeded"}})");
  CHECK(frames[3] == R"({"type":"error","error":{"code":"bad_message","msg":"rate limit exceeded"}})");
  const auto closes = sink->closes();
  REQUIRE_FALSE(closes.empty());
  CHECK(closes.front().first == net::close_code::policy_violation);
  CHECK(closes.front().second == "rate limit exceeded");
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
}

namespace {

struct member {
  std::shared_ptr<test::recording_sink> sink = std::make_shared<test::recording_sink>();
  connection_actor actor;
  connection_ref ref;
};

// A connection actor with a recording sink, its hello already taken.
member join_member(caf::actor_system& system, caf::scheduler::test_coordinator& sched,
                   const std::shared_ptr<const rtm_context>& context, const std::string& user) {
  member m;
  m.actor = spawn_connection(system, anonymous_user(user), m.sink, context);
  m.ref = connection_ref{user, "", m.actor, m.sink};
  sched.run();
  m.sink->take_frames();
  return m;
}

}  // namespace

TEST_CASE_FIXTURE(test::deterministic_fixture, "channel membership, notices, dying members and the sweep") {
  auto directory = spawn_user_directory(system);
  auto registry = spawn_channel_registry(system, directory);
  sched.run();
  auto context = make_context(directory);
  auto make_member = [&](const std::string& user) { return join_member(system, sched, context, user); };
  auto alice = make_member("alice");
  auto bob = make_member("bob");
  auto bob_laptop = make_member("bob");

  auto created = ask<created_channel>(registry, create_atom::value, alice.ref);
  REQUIRE(created);
  CHECK(created->id.size() == 33);
  CHECK(ask<channel_actor>(registry, lookup_atom::value, created->id) == created->actor);
  const auto channel = created->actor;
  CHECK(deref<channel_impl>(channel).state.members.size() == 1);

  auto joined = ask<join_result>(channel, join_atom::value, join_request{bob.ref});
  REQUIRE(joined);
  CHECK(joined->outcome == join_outcome::joined);
  CHECK(deref<channel_impl>(channel).state.members.size() == 2);
  auto notices = alice.sink->take_frames();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].find("bob has joined the meeting.") != std::string::npos);
  CHECK(bob.sink->take_frames().empty());  // the joiner is not told about itself

  CHECK(ask<join_result>(channel, join_atom::value, join_request{bob.ref})->outcome ==
        join_outcome::already_member);
  CHECK(ask<join_result>(channel, join_atom::value, join_request{bob_laptop.ref})->outcome ==
        join_outcome::id_exists);
  CHECK(alice.sink->take_frames().empty());

  // A member's connection dies mid-call: it leaves, the other member hears of it.
  caf::anon_send(bob.actor, closed_atom::value);
  sched.run();
  notices = alice.sink->take_frames();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].find("bob has left the meeting.") != std::string::npos);
  CHECK(deref<channel_impl>(channel).state.members.size() == 1);

  // Its last member gone, the channel goes at once (N7), and the registry forgets it.
  caf::anon_send(alice.actor, closed_atom::value);
  sched.run();
  CHECK_FALSE(*ask<channel_actor>(registry, lookup_atom::value, created->id));
  // A group nobody joined (its joiner went away on the way) is kept for its lifetime.
  auto lonely =
      ask<channel_actor>(registry, group_atom::value, std::string("lonely"), std::string("bob"));
  REQUIRE(lonely);
  sched.advance_time(std::chrono::seconds(30));
  sched.run();
  CHECK(ask<channel_actor>(registry, lookup_atom::value, std::string("@lonely")) == *lonely);
  sched.advance_time(std::chrono::seconds(31));
  sched.run();
  CHECK_FALSE(*ask<channel_actor>(registry, lookup_atom::value, std::string("@lonely")));

  caf::anon_send_exit(bob_laptop.actor, caf::exit_reason::user_shutdown);
  caf::anon_send(registry, shutdown_atom::value);
  caf::anon_send(directory, shutdown_atom::value);
}

TEST_CASE_FIXTURE(test::deterministic_fixture, "group joins, replacement, and one chat order for every member") {
  auto directory = spawn_user_directory(system);
  auto registry = spawn_channel_registry(system, directory);
  sched.run();
  auto context = make_context(directory);
  auto make_member = [&](const std::string& user) { return join_member(system, sched, context, user); };
  std::vector<member> members;
  for (const char* user : {"ann", "ben", "cat"}) members.push_back(make_member(user));
  auto group =
      ask<channel_actor>(registry, group_atom::value, std::string("room"), std::string("tester"));
  REQUIRE(group);
  CHECK(ask<channel_actor>(registry, group_atom::value, std::string("room"),
                           std::string("tester")) == *group);
  for (auto& m : members)
    REQUIRE(ask<join_result>(*group, join_atom::value, join_request{m.ref})->outcome ==
            join_outcome::joined);
  // ann saw ben and cat join (notice + list each), ben saw cat, cat saw nobody.
  CHECK(members[0].sink->take_frames().size() == 4);
  CHECK(members[1].sink->take_frames().size() == 2);
  CHECK(members[2].sink->take_frames().empty());

  // A second connection of ben replaces the first.
  auto ben_laptop = make_member("ben");
  auto replaced = ask<join_result>(*group, join_atom::value, join_request{ben_laptop.ref});
  REQUIRE(replaced);
  CHECK(replaced->outcome == join_outcome::replaced);
  CHECK(deref<channel_impl>(*group).state.members.size() == 3);
  const auto old_frames = members[1].sink->take_frames();
  REQUIRE(old_frames.size() == 1);
  CHECK(old_frames[0].find(R"("replaced":true)") != std::string::npos);
  CHECK(members[0].sink->take_frames().size() == 1);  // the list, no "joined"
  CHECK(members[2].sink->take_frames().size() == 1);
  CHECK(ben_laptop.sink->take_frames().empty());
  members[1] = ben_laptop;

  // Chats from all three, interleaved: every member sees the same order.
  for (int round = 0; round < 5; ++round)
    for (auto& m : members) {
      protocol::chats_message chat;
      chat.subtype = "chats_message";
      chat.channel = "@room";
      chat.data.presence = protocol::json_presence::value;
      chat.message = protocol::chat_data{};
      chat.message->text = m.ref.user_id + std::to_string(round);
      self->send(*group, chat_atom::value, m.actor, chat);
    }
  sched.run();
  auto texts_seen_by = [](member& m) {
    std::vector<std::string> texts;
    for (const auto& frame : m.sink->take_frames()) {
      const auto at = frame.find(R"("text":")");
      if (frame.find(R"("subtype":"chats_message")") != std::string::npos && at != std::string::npos)
        texts.push_back(frame.substr(at + 8, frame.find('"', at + 8) - at - 8));
    }
    return texts;
  };
  const auto order = texts_seen_by(members[0]);
  CHECK(order.size() == 15);  // the echoes of its own and the others' messages
  CHECK(texts_seen_by(members[1]) == order);
  CHECK(texts_seen_by(members[2]) == order);

  // create_restricted: an empty group cannot be joined by someone who may not create, and
  // the channel made for the attempt goes at once.
  auto empty =
      ask<channel_actor>(registry, group_atom::value, std::string("empty"), std::string("tester"));
  CHECK(ask<join_result>(*empty, join_atom::value, join_request{members[0].ref, false})->outcome ==
        join_outcome::create_restricted);
  CHECK_FALSE(*ask<channel_actor>(registry, lookup_atom::value, std::string("@empty")));

  for (auto& m : members) caf::anon_send_exit(m.actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(members[1].actor, caf::exit_reason::user_shutdown);
  caf::anon_send(registry, shutdown_atom::value);
  caf::anon_send(directory, shutdown_atom::value);
}

// D21 across connections: the joiner's webrtc_channel reply is written before any other
// member hears of the join, and a hangup's target gets the hangup before the notices.
TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "replies and relays go out before the membership notices they cause") {
  auto directory = spawn_user_directory(system);
  auto registry = spawn_channel_registry(system, directory);
  sched.run();
  auto context = std::make_shared<rtm_context>(*make_context(directory));
  context->channels = registry;
  auto journal = std::make_shared<test::frame_journal>();
  std::map<std::string, connection_actor> actors;
  for (const char* user : {"ann", "ben", "cat"}) {
    auto sink = std::make_shared<test::recording_sink>(journal, user);
    actors[user] = spawn_connection(system, anonymous_user(user), sink, context);
  }
  sched.run();
  auto frames_since = [&](std::size_t from) {
    auto entries = journal->entries();
    return std::vector<std::pair<std::string, std::string>>(
        entries.begin() + static_cast<std::ptrdiff_t>(from), entries.end());
  };
  auto is = [](const std::pair<std::string, std::string>& entry, const std::string& who,
               const std::string& part) {
    return entry.first == who && entry.second.find(part) != std::string::npos;
  };
  auto join = [&](const std::string& user, uint64_t id) {
    caf::anon_send(actors[user], text_atom::value,
                   R"({"type":"webrtc","subtype":"webrtc_group","id":)" + std::to_string(id) +
                       R"(,"target":"room","group":"room","state":"s","v":20180703})");
    sched.run();
  };
  join("ann", 1);
  std::size_t mark = journal->entries().size();
  join("ben", 2);
  auto written = frames_since(mark);
  REQUIRE(written.size() == 3);
  CHECK(is(written[0], "ben", R"("reply_to":2)"));
  CHECK(is(written[1], "ann", "ben has joined the meeting."));
  CHECK(is(written[2], "ann", R"("reset":false)"));
  join("cat", 3);

  mark = journal->entries().size();
  const auto hash = context->hasher->hash("ben", "room", "@room");
  caf::anon_send(
      actors["ben"], text_atom::value,
      R"({"type":"webrtc","subtype":"webrtc_hangup","id":4,"target":"ann","group":"room","state":"room",)"
      R"("channel":"@room","hash":")" +
          hash + R"(","v":20180703,"data":{"accept":false,"reason":"hangup"}})");
  sched.run();
  written = frames_since(mark);
  REQUIRE(written.size() == 5);
  CHECK(is(written[0], "ann", R"("subtype":"webrtc_hangup")"));
  std::vector<std::string> ann_after, cat_after;
  for (std::size_t i = 1; i < written.size(); ++i)
    (written[i].first == "ann" ? ann_after : cat_after).push_back(written[i].second);
  REQUIRE(ann_after.size() == 2);
  CHECK(ann_after[0].find("ben has left the meeting.") != std::string::npos);
  CHECK(ann_after[1].find(R"("members":["ann","cat"])") != std::string::npos);
  CHECK(cat_after.size() == 2);

  for (auto& [user, actor] : actors) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send(registry, shutdown_atom::value);
  caf::anon_send(directory, shutdown_atom::value);
}

// A step that throws ends its runner (CAF 0.17's default exception handler quits the actor);
// every later request sent to that runner would then wait for ever. The runner is replaced.
TEST_CASE_FIXTURE(test::deterministic_fixture, "a request runner whose step throws is replaced") {
  auto runners = actors::request_runners::make(system, 1);
  runners->run([](caf::event_based_actor*) { throw std::runtime_error("a bug in a request step"); });
  sched.run();
  int ran = 0;
  runners->run([&ran](caf::event_based_actor*) { ++ran; });
  sched.run();
  CHECK(ran == 1);
  runners->stop();
  sched.run();
}
