// Deterministic actor tests of the D20 budgets: pending connect keys, the per-connection
// channel caps and how replacement and hangups release them, the group member cap, and the
// byte rate limit of a connection.
#include <rapidjson/document.h>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/channel_registry.hpp"
#include "actors/connect_client.hpp"
#include "actors/connection.hpp"
#include "actors/token_issuer.hpp"
#include "actors/user_directory.hpp"
#include "net/client_address.hpp"
#include "support/connect_keys.hpp"
#include "support/deterministic.hpp"
#include "support/recording_sink.hpp"

using namespace kwm;
using namespace kwm::actors;
using namespace std::chrono_literals;

namespace {

using test::anonymous_user;

struct limits_world : test::deterministic_fixture {
  explicit limits_world(connection_settings settings = {}, channel_settings channels = {}) {
    directory = spawn_user_directory(system);
    registry = spawn_channel_registry(system, directory, channels);
    auto shared = std::make_shared<rtm_context>();
    shared->directory = directory;
    shared->channels = registry;
    shared->hasher = std::make_shared<const protocol::channel_hasher>(std::string(32, 'k'));
    shared->settings = settings;
    context = shared;
    sched.run();
  }
  ~limits_world() {
    for (auto& c : connections) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    caf::anon_send(registry, shutdown_atom::value);
    caf::anon_send(directory, shutdown_atom::value);
  }

  // A connection of `user_id` with its hello taken; it is known to the directory.
  std::pair<connection_actor, std::shared_ptr<test::recording_sink>> open(
      const std::string& user_id) {
    auto sink = std::make_shared<test::recording_sink>();
    auto connection = spawn_connection(system, anonymous_user(user_id), sink, context);
    connections.push_back(connection);
    sched.run();
    ask<bool>(directory, admit_atom::value, connection_ref{user_id, "", connection, sink},
              uint32_t{0});
    sink->take_frames();
    return {connection, sink};
  }

  // Sends a frame and returns what the connection wrote because of it.
  std::vector<std::string> send(const connection_actor& connection,
                                const std::shared_ptr<test::recording_sink>& sink,
                                const std::string& frame) {
    caf::anon_send(connection, text_atom::value, frame);
    sched.run();
    return sink->take_frames();
  }

  connection_state& state_of(const connection_actor& connection) {
    return deref<connection_impl>(connection).state;
  }

  user_directory_actor directory;
  channel_registry_actor registry;
  std::shared_ptr<const rtm_context> context;
  std::vector<connection_actor> connections;
};

std::string join_frame(const std::string& group, int id) {
  return R"({"type":"webrtc","subtype":"webrtc_group","id":)" + std::to_string(id) +
         R"(,"target":")" + group + R"(","group":")" + group + R"(","state":"s"})";
}

std::string call_frame(int id) {
  return R"({"type":"webrtc","subtype":"webrtc_call","id":)" + std::to_string(id) +
         R"(,"target":"bob","initiator":true,"state":"s"})";
}

std::string too_many(int id) {
  return R"({"type":"error","reply_to":)" + std::to_string(id) +
         R"(,"error":{"code":"bad_message","msg":"too many channels"}})";
}

// The value of a string field in a rendered frame.
std::string field_of(const std::string& frame, const char* key) {
  rapidjson::Document doc;
  doc.Parse(frame.c_str(), frame.size());
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember(key));
  return doc[key].GetString();
}

connection_settings caps(uint32_t groups, uint32_t calls) {
  connection_settings settings;
  settings.max_groups = groups;
  settings.max_calls = calls;
  settings.rate_limit.tokens_per_second = 0;  // simulated time stands still
  return settings;
}

}  // namespace

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "pending connect keys: a cap, used and expired keys make room") {
  token_issuer_settings settings;
  settings.max_pending = 2;
  settings.sweep_interval = 1h;  // no sweep in this test: the cap itself drops expired keys
  auto issuer = spawn_token_issuer(system, settings);
  sched.run();
  const auto a = test::issue_key(*this, issuer, "a");
  REQUIRE(a);
  CHECK(a->size() == 32);
  CHECK(test::issue_key(*this, issuer, "b")->size() == 32);
  CHECK(test::issue_key(*this, issuer, "c") == std::string());      // at the cap
  CHECK(ask<redeemed_key>(issuer, redeem_atom::value, *a)->found);  // used: no longer pending
  CHECK(test::issue_key(*this, issuer, "c")->size() == 32);
  CHECK(test::issue_key(*this, issuer, "d") == std::string());
  sched.advance_time(30s);  // b and c are exactly 30 s old: still valid, still pending
  sched.run();
  CHECK(test::issue_key(*this, issuer, "d") == std::string());
  sched.advance_time(1s);
  sched.run();
  const auto d = test::issue_key(*this, issuer, "d");
  CHECK(d->size() == 32);
  CHECK(deref<token_issuer_impl>(issuer).state.keys.size() == 1);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "pending connect keys: one client's share is capped, the others still get keys") {
  token_issuer_settings settings;
  settings.max_pending = 10;
  settings.max_pending_per_client = 2;
  settings.sweep_interval = 1h;
  auto issuer = spawn_token_issuer(system, settings);
  sched.run();
  const auto issue = [&](const std::string& client) {
    return ask<issued_key>(issuer, issue_atom::value, anonymous_user("u"), client);
  };
  const auto first = issue("attacker");
  REQUIRE(first);
  CHECK(first->key.size() == 32);
  CHECK(issue("attacker")->key.size() == 32);
  const auto refused = issue("attacker");
  REQUIRE(refused);
  CHECK(refused->key.empty());
  CHECK(refused->client_at_cap);
  const auto other = issue("bystander");
  REQUIRE(other);
  CHECK(other->key.size() == 32);
  // A used key gives its place back to its client.
  CHECK(ask<redeemed_key>(issuer, redeem_atom::value, first->key)->found);
  CHECK(issue("attacker")->key.size() == 32);
  CHECK(issue("attacker")->client_at_cap);
  // So does an expired one; a client without keys leaves no entry behind.
  sched.advance_time(31s);
  sched.run();
  CHECK(issue("attacker")->key.size() == 32);
  auto& st = deref<token_issuer_impl>(issuer).state;
  CHECK(st.clients.size() == 1);
  CHECK(st.clients.at("attacker").pending == 1);
  CHECK(st.by_pending.size() == 1);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE("a connect's client: the authenticated subject, else the address (IPv6 by /64)") {
  const auto address = [](const char* text) { return *net::parse_forwarded_hop(text); };
  const auto anonymous = anonymous_user("chosen by the client");
  CHECK(connect_client_of(anonymous, address("192.0.2.1")) ==
        connect_client_of(anonymous_user("another"), address("192.0.2.1")));
  CHECK(connect_client_of(anonymous, address("192.0.2.1")) !=
        connect_client_of(anonymous, address("192.0.2.2")));
  CHECK(connect_client_of(anonymous, address("2001:db8::1")) ==
        connect_client_of(anonymous, address("2001:db8::ffff:1")));
  CHECK(connect_client_of(anonymous, address("2001:db8::1")) !=
        connect_client_of(anonymous, address("2001:db8:0:1::1")));
  // The family is part of the name: 0.0.0.0 is not the all-zero /64.
  CHECK(connect_client_of(anonymous, address("0.0.0.0")) !=
        connect_client_of(anonymous, address("::1")));
  protocol::auth_record alice;
  alice.kind = protocol::auth_kind::bearer;
  alice.user_id = "alice";
  alice.subject = "alice-subject";
  CHECK(connect_client_of(alice, address("192.0.2.1")) ==
        connect_client_of(alice, address("198.51.100.7")));
  auto bob = alice;
  bob.subject = "bob-subject";
  CHECK(connect_client_of(alice, address("192.0.2.1")) !=
        connect_client_of(bob, address("192.0.2.1")));
}

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "at the total cap a client with fewer keys takes the largest holder's oldest") {
  token_issuer_settings settings;
  settings.max_pending = 4;
  settings.max_pending_per_client = 10;
  settings.sweep_interval = 1h;
  auto issuer = spawn_token_issuer(system, settings);
  sched.run();
  const auto issue = [&](const std::string& client) {
    return *ask<issued_key>(issuer, issue_atom::value, anonymous_user("u"), client);
  };
  std::vector<std::string> held;
  for (int i = 0; i < 4; ++i) held.push_back(issue("many").key);  // the total is reached
  const auto newcomer = issue("newcomer");
  CHECK(newcomer.key.size() == 32);
  CHECK_FALSE(ask<redeemed_key>(issuer, redeem_atom::value, held[0])->found);  // taken back
  CHECK(ask<redeemed_key>(issuer, redeem_atom::value, held[1])->found);
  // many 2, newcomer 1, one free place: many takes it; then nobody holds more than many.
  CHECK(issue("many").key.size() == 32);
  const auto refused = issue("many");
  CHECK(refused.key.empty());
  CHECK_FALSE(refused.client_at_cap);         // the total (503), not its share
  CHECK(issue("newcomer").key.size() == 32);  // 1 + 1 < 3: takes many's oldest
  CHECK(issue("newcomer").key.empty());       // 2 + 1 >= 2: among the largest itself
  auto& st = deref<token_issuer_impl>(issuer).state;
  CHECK(st.keys.size() == 4);
  CHECK(st.clients.at("many").pending == 2);
  CHECK(st.clients.at("newcomer").pending == 2);
  CHECK(st.by_pending.size() == 2);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "a client that always holds a key keeps a bounded list of its keys") {
  auto issuer = spawn_token_issuer(system);
  sched.run();
  const auto held = test::issue_key(*this, issuer, "u", "busy");
  REQUIRE(held);
  auto& st = deref<token_issuer_impl>(issuer).state;
  for (int round = 0; round < 5; ++round) {
    // A key held is renewed before the last expires; 100 others are used at once.
    REQUIRE(test::issue_key(*this, issuer, "u", "busy"));
    for (int i = 0; i < 100; ++i) {
      const auto key = test::issue_key(*this, issuer, "u", "busy");
      REQUIRE(ask<redeemed_key>(issuer, redeem_atom::value, *key)->found);
    }
    sched.advance_time(20s);
    sched.run();
  }
  // Only the keys of the last lifetime are listed: two rounds of 100 and their renewals (of
  // 500 and more issued).
  CHECK(st.clients.at("busy").keys.size() <= 203);
  CHECK(st.clients.at("busy").pending >= 1);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "at its own share a client gets 429 even when the total is reached too") {
  token_issuer_settings settings;
  settings.max_pending = 2;
  settings.max_pending_per_client = 2;
  auto issuer = spawn_token_issuer(system, settings);
  sched.run();
  for (const char* client : {"a", "a"})  // both caps reached
    CHECK(test::issue_key(*this, issuer, "u", client)->size() == 32);
  const auto refused =
      ask<issued_key>(issuer, issue_atom::value, anonymous_user("u"), std::string("a"));
  REQUIRE(refused);
  CHECK(refused->key.empty());
  CHECK(refused->client_at_cap);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "expired connect keys are gone within 31 s, redeemed ones leave no trace") {
  auto issuer = spawn_token_issuer(system);
  sched.run();
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i)
    keys.push_back(*test::issue_key(*this, issuer, std::string(256, 'u')));
  CHECK(ask<redeemed_key>(issuer, redeem_atom::value, keys[0])->found);
  auto& st = deref<token_issuer_impl>(issuer).state;
  CHECK(st.keys.size() == 4);
  CHECK(st.issue_order.size() == 5);
  sched.advance_time(30s);
  sched.run();
  CHECK(st.keys.size() == 4);
  sched.advance_time(1s);
  sched.run();
  CHECK(st.keys.empty());
  CHECK(st.issue_order.empty());
  CHECK_FALSE(ask<redeemed_key>(issuer, redeem_atom::value, keys[1])->found);
  caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
}

TEST_CASE("groups per connection: the cap, rejoining, and replacement by another device") {
  limits_world world(caps(1, 64));
  auto [ann, ann_sink] = world.open("ann");
  CHECK(field_of(world.send(ann, ann_sink, join_frame("g1", 1)).at(0), "subtype") ==
        "webrtc_channel");
  CHECK(world.send(ann, ann_sink, join_frame("g2", 2)) == std::vector<std::string>{too_many(2)});
  CHECK(field_of(world.send(ann, ann_sink, join_frame("g1", 3)).at(0), "subtype") ==
        "webrtc_channel");  // rejoin
  CHECK(world.state_of(ann).groups.size() == 1);

  // ann's laptop replaces her in g1: the old connection is told, and is free to join g2.
  auto [laptop, laptop_sink] = world.open("ann");
  world.send(laptop, laptop_sink, join_frame("g1", 1));
  CHECK(world.state_of(ann).groups.empty());
  CHECK(world.state_of(laptop).groups.count("@g1") == 1);
  const auto told = ann_sink->take_frames();
  REQUIRE(told.size() == 1);
  CHECK(told[0].find(R"("replaced":true)") != std::string::npos);
  CHECK(field_of(world.send(ann, ann_sink, join_frame("g2", 4)).at(0), "subtype") ==
        "webrtc_channel");

  // A notice about an older membership than the current one changes nothing.
  const auto current = world.state_of(laptop).groups.at("@g1");
  caf::anon_send(laptop, left_atom::value, std::string("@g1"), current - 1);
  world.sched.run();
  CHECK(world.state_of(laptop).groups.count("@g1") == 1);
  caf::anon_send(laptop, left_atom::value, std::string("@g1"), current);
  world.sched.run();
  CHECK(world.state_of(laptop).groups.empty());
}

TEST_CASE("1:1 channels per connection: hangups release them, calls in a loop never lock out") {
  limits_world world(caps(64, 2));
  auto [alice, alice_sink] = world.open("alice");
  auto [bob, bob_sink] = world.open("bob");
  auto hangup = [&](const std::string& reply, int id) {
    return R"({"type":"webrtc","subtype":"webrtc_hangup","id":)" + std::to_string(id) +
           R"(,"target":"bob","state":"s","channel":")" + field_of(reply, "channel") +
           R"(","hash":")" + field_of(reply, "hash") + R"(","data":{}})";
  };
  for (int round = 0; round < 100; ++round) {
    const auto reply = world.send(alice, alice_sink, call_frame(1));
    REQUIRE(reply.size() == 1);
    REQUIRE(field_of(reply[0], "subtype") == "webrtc_channel");
    CHECK(world.send(alice, alice_sink, hangup(reply[0], 2)).empty());
  }
  CHECK(world.state_of(alice).calls.empty());
  const auto first = world.send(alice, alice_sink, call_frame(3)).at(0);
  world.send(alice, alice_sink, call_frame(4));
  CHECK(world.send(alice, alice_sink, call_frame(5)) == std::vector<std::string>{too_many(5)});
  world.send(alice, alice_sink, hangup(first, 6));
  CHECK(field_of(world.send(alice, alice_sink, call_frame(7)).at(0), "subtype") ==
        "webrtc_channel");
  CHECK(world.state_of(alice).calls.size() == 2);

  // Answering counts too: bob accepts both open calls and then holds two 1:1 channels himself.
  bob_sink->take_frames();
  const auto calls = world.state_of(alice).calls;
  int id = 10;
  for (const auto& channel : calls) {
    const auto hash = world.context->hasher->hash("alice", "bob", channel);
    const auto answer = R"({"type":"webrtc","subtype":"webrtc_call","id":)" + std::to_string(++id) +
                        R"(,"target":"alice","state":"b","channel":")" + channel + R"(","hash":")" +
                        hash + R"(","data":{"accept":true,"state":"s"}})";
    CHECK(world.send(bob, bob_sink, answer).empty());
  }
  CHECK(world.state_of(bob).calls == calls);
}

namespace {

// A connection actor of `id` writing into a recording sink, as channels address it.
connection_ref recorded_connection(caf::actor_system& system, caf::scheduler::test_coordinator& sched,
                                   const user_directory_actor& directory, const std::string& id) {
  auto sink = std::make_shared<test::recording_sink>();
  auto context = std::make_shared<rtm_context>();
  context->directory = directory;
  auto actor = spawn_connection(system, anonymous_user(id), sink, context);
  sched.run();
  return connection_ref{id, "", actor, sink};
}

}  // namespace

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "a group channel at its member cap: new users are refused, devices replace") {
  auto directory = spawn_user_directory(system);
  channel_settings settings;
  settings.max_group_members = 2;
  auto registry = spawn_channel_registry(system, directory, settings);
  sched.run();
  auto group =
      *ask<channel_actor>(registry, group_atom::value, std::string("room"), std::string("tester"));
  auto make = [&](const std::string& id) { return recorded_connection(system, sched, directory, id); };
  std::vector<connection_ref> refs{make("ann"), make("ben"), make("cat"), make("ben")};
  CHECK(ask<join_result>(group, join_atom::value, join_request{refs[0]})->outcome ==
        join_outcome::joined);
  const auto ben = ask<join_result>(group, join_atom::value, join_request{refs[1]});
  CHECK(ben->outcome == join_outcome::joined);
  CHECK(ask<join_result>(group, join_atom::value, join_request{refs[2]})->outcome ==
        join_outcome::full);
  const auto replaced = ask<join_result>(group, join_atom::value, join_request{refs[3]});
  CHECK(replaced->outcome == join_outcome::replaced);
  CHECK(replaced->membership > ben->membership);
  CHECK(deref<channel_impl>(group).state.members.size() == 2);
  // A 1:1 channel has no member cap (it never has more than two users anyway).
  auto call = ask<created_channel>(registry, create_atom::value, refs[0]);
  CHECK(ask<join_result>(call->actor, join_atom::value, join_request{refs[1]})->outcome ==
        join_outcome::joined);
  CHECK(ask<join_result>(call->actor, join_atom::value, join_request{refs[2]})->outcome ==
        join_outcome::joined);
  for (auto& ref : refs) caf::anon_send_exit(ref.actor, caf::exit_reason::user_shutdown);
  caf::anon_send(registry, shutdown_atom::value);
  caf::anon_send(directory, shutdown_atom::value);
}

// N7: live channels are capped per creating user and in total; a channel whose members all
// left goes at once, and so does its count.
TEST_CASE_FIXTURE(test::deterministic_fixture, "live channels are capped per user and in total") {
  auto directory = spawn_user_directory(system);
  channel_settings settings;
  settings.max_channels = 5;
  settings.max_channels_per_user = 3;
  auto registry = spawn_channel_registry(system, directory, settings);
  sched.run();
  auto make = [&](const std::string& id) { return recorded_connection(system, sched, directory, id); };
  auto ann = make("ann");
  auto ben = make("ben");
  auto call = [&](const connection_ref& caller) {
    return ask<created_channel>(registry, create_atom::value, caller);
  };
  auto group = [&](const std::string& name, const std::string& user) {
    return *ask<channel_actor>(registry, group_atom::value, name, user);
  };
  std::vector<created_channel> calls;
  for (int i = 0; i < 2; ++i) calls.push_back(*call(ann));
  CHECK(group("a1", "ann"));
  CHECK_FALSE(call(ann)->actor);  // ann has 3
  CHECK(call(ann)->id.empty());
  CHECK_FALSE(group("a2", "ann"));
  CHECK(group("a1", "ben") == group("a1", "ann"));  // existing groups are found, not created
  CHECK(call(ben)->actor);
  CHECK(group("b1", "ben"));
  CHECK_FALSE(call(ben)->actor);  // 5 in the process
  CHECK_FALSE(group("b2", "ben"));
  // ann hangs up her first call: the channel, now empty, goes, and so does her count.
  self->send(calls[0].actor, hangup_atom::value, ann.actor, std::string("nobody"),
             net::make_frame(R"({"type":"webrtc"})"));
  sched.run();
  CHECK_FALSE(*ask<channel_actor>(registry, lookup_atom::value, calls[0].id));
  CHECK(call(ann)->actor);
  for (auto* ref : {&ann, &ben}) caf::anon_send_exit(ref->actor, caf::exit_reason::user_shutdown);
  caf::anon_send(registry, shutdown_atom::value);
  caf::anon_send(directory, shutdown_atom::value);
}

TEST_CASE_FIXTURE(test::deterministic_fixture,
                  "the byte rate limit refuses frames without parsing them") {
  auto directory = spawn_user_directory(system);
  auto sink = std::make_shared<test::recording_sink>();
  auto context = std::make_shared<rtm_context>();
  context->directory = directory;
  context->settings.rate_limit.bytes_per_second = 100;
  context->settings.rate_limit.burst_bytes = 100;
  auto connection = spawn_connection(system, anonymous_user("alice"), sink, context);
  sched.run();
  sink->take_frames();
  const std::string ping =
      R"({"type":"ping","id":1,"pad":")" + std::string(40, 'p') + R"("})";  // 71 bytes
  caf::anon_send(connection, text_atom::value, ping);
  caf::anon_send(connection, text_atom::value, ping);  // 29 bytes left: refused
  caf::anon_send(connection, text_atom::value,
                 std::string(50, '{'));                          // invalid JSON, but refused unread
  caf::anon_send(connection, binary_atom::value, uint64_t{41});  // refused silently
  caf::anon_send(connection, text_atom::value,
                 std::string(R"({"type":"ping","id":2})"));  // 22 bytes fit
  sched.run();
  const std::string refused =
      R"({"type":"error","error":{"code":"bad_message","msg":"rate limit exceeded"}})";
  CHECK(
      sink->take_frames() ==
      std::vector<std::string>{R"({"id":1,"pad":")" + std::string(40, 'p') + R"(","type":"pong"})",
                               refused, refused, R"({"id":2,"type":"pong"})"});
  CHECK(sink->closes().empty());
  sched.advance_time(1s);  // 100 bytes back
  sched.run();
  caf::anon_send(connection, text_atom::value, ping);
  sched.run();
  CHECK(sink->take_frames().size() == 1);
  caf::anon_send_exit(connection, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
}
