// The Redis client of the cluster (cluster/redis_client): URLs, pipelining, AUTH/SELECT,
// reconnects, bounds, pub/sub — against a real redis-server the tests start themselves.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "cluster/redis_client.hpp"
#include "cluster/redis_url.hpp"
#include "support/cluster_support.hpp"
#include "support/eventually.hpp"
#include "support/log_recorder.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using kwm::cluster::failure;
using kwm::cluster::redis_client;
using kwm::cluster::redis_reply;
using kwm::cluster::result;
using kwm::test::await_done;
using kwm::test::await_result;
using kwm::test::eventually;
using kwm::test::fast_redis_options;

namespace {

result<redis_reply> run(redis_client& client, std::vector<std::string> args) {
  return await_result<redis_reply>(
      [&](auto done) { client.command(std::move(args), std::move(done)); });
}

void stop(redis_client& client) {
  await_done([&](auto done) { client.stop(std::move(done)); });
}

}  // namespace

TEST_CASE("redis url: host, port, password, user and database") {
  auto plain = kwm::cluster::parse_redis_url("redis://redis.internal");
  REQUIRE(plain.endpoint);
  CHECK(plain.endpoint->host == "redis.internal");
  CHECK(plain.endpoint->port == 6379);
  CHECK(plain.endpoint->db == 0);
  CHECK(plain.endpoint->password.empty());

  auto full = kwm::cluster::parse_redis_url("redis://kwm:p%40ss%3Aw0rd@10.0.0.5:6380/4");
  REQUIRE(full.endpoint);
  CHECK(full.endpoint->username == "kwm");
  CHECK(full.endpoint->password == "p@ss:w0rd");
  CHECK(full.endpoint->host == "10.0.0.5");
  CHECK(full.endpoint->port == 6380);
  CHECK(full.endpoint->db == 4);
  CHECK(full.endpoint->describe() == "redis://kwm:***@10.0.0.5:6380/4");

  auto password_only = kwm::cluster::parse_redis_url("redis://:secret@localhost:7000");
  REQUIRE(password_only.endpoint);
  CHECK(password_only.endpoint->username.empty());
  CHECK(password_only.endpoint->password == "secret");

  auto bare_secret = kwm::cluster::parse_redis_url("redis://secret@localhost");
  REQUIRE(bare_secret.endpoint);
  CHECK(bare_secret.endpoint->password == "secret");

  auto v6 = kwm::cluster::parse_redis_url("redis://[::1]:6390/2");
  REQUIRE(v6.endpoint);
  CHECK(v6.endpoint->host == "::1");
  CHECK(v6.endpoint->port == 6390);
  CHECK(v6.endpoint->describe() == "redis://[::1]:6390/2");
}

TEST_CASE("redis url: refused forms") {
  for (const char* url :
       {"rediss://host", "http://host", "redis://", "redis://:pw@", "redis://host:0",
        "redis://host:65536", "redis://host:", "redis://host/x", "redis://host/-1",
        "redis://host?db=1", "redis://a%zz:b@host", "redis://[::1", "redis://[::1]x"}) {
    CAPTURE(url);
    const auto parsed = kwm::cluster::parse_redis_url(url);
    CHECK_FALSE(parsed.endpoint);
    CHECK_FALSE(parsed.error.empty());
  }
}

// Two tests running at once can be handed the same free port; the second must not take the
// first one's redis-server for its own (their nodes would share channels and leases).
TEST_CASE("test support: a redis-server on a port another one holds starts elsewhere") {
  kwm::test::redis_server first;
  kwm::test::redis_server second(kwm::test::redis_server_options{{}, first.port()});
  CHECK(second.port() != first.port());
  second.query({"SET", "mine", "1"});
  CHECK(first.query({"EXISTS", "mine"}).as_integer() == 0);
}

TEST_CASE("redis client: pipelined commands keep their order and arguments are binary-safe") {
  kwm::test::redis_server redis;
  kwm::test::io_thread io;
  std::mutex mutex;
  std::vector<int64_t> seen;
  std::atomic<int> answered{0};
  redis_client client(io.io, fast_redis_options(redis.url()));
  client.start();
  REQUIRE(eventually([&] { return client.is_up(); }));

  const std::string binary("a\0b\xff\r\n$3\r\n", 11);
  REQUIRE(run(client, {"SET", binary, binary}));
  auto got = run(client, {"GET", binary});
  REQUIRE(got);
  CHECK(got->is_string());
  CHECK(got->text == binary);

  // 2000 commands at once: many in flight on one connection, replies in order.
  constexpr int count = 2000;
  for (int i = 0; i < count; ++i)
    client.command({"INCR", "counter"}, [&](result<redis_reply> reply) {
      std::lock_guard lock(mutex);
      seen.push_back(reply ? reply->integer : -1);
      ++answered;
    });
  REQUIRE(eventually([&] { return answered == count; }, 10s));
  for (int i = 0; i < count; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i + 1);
  CHECK(client.stats().commands >= static_cast<uint64_t>(count));
  CHECK(eventually([&] { return client.stats().round_trip_count > 0; }));
  stop(client);
}

TEST_CASE("redis client: AUTH and SELECT come from the URL") {
  kwm::test::redis_server redis({.password = "s3cret"});
  kwm::test::io_thread io;
  {
    redis_client client(io.io, fast_redis_options(redis.url() + "/3"));
    client.start();
    REQUIRE(eventually([&] { return client.is_up(); }));
    auto info = run(client, {"CLIENT", "INFO"});
    REQUIRE(info);
    CHECK(info->text.find(" db=3 ") != std::string::npos);
    CHECK(info->text.find("name=kwmtest-commands") != std::string::npos);
    stop(client);
  }
  {
    kwm::test::log_recorder log;
    redis_client client(
        io.io, fast_redis_options("redis://:wrong@127.0.0.1:" + std::to_string(redis.port())),
        log.function());
    client.start();
    REQUIRE(eventually([&] { return log.count("redis connection down") == 1; }));
    CHECK_FALSE(client.is_up());
    auto refused = run(client, {"PING"});
    REQUIRE_FALSE(refused);
    CHECK(refused.failed().kind == failure::unavailable);
    CHECK(refused.failed().detail.find("AUTH") != std::string::npos);
    // Retrying with back-off does not log again.
    std::this_thread::sleep_for(300ms);
    CHECK(log.count("redis connection down") == 1);
    stop(client);
  }
}

TEST_CASE("redis client: a redis restart is survived and logged once per change") {
  kwm::test::redis_server redis;
  kwm::test::io_thread io;
  kwm::test::log_recorder log;
  std::mutex mutex;
  std::vector<bool> states;
  redis_client client(io.io, fast_redis_options(redis.url()), log.function());
  client.on_state_change([&](bool up) {
    std::lock_guard lock(mutex);
    states.push_back(up);
  });
  client.start();
  REQUIRE(eventually([&] { return client.is_up(); }));

  redis.stop();
  REQUIRE(eventually([&] { return !client.is_up(); }));
  auto refused = run(client, {"PING"});
  REQUIRE_FALSE(refused);
  CHECK(refused.failed().kind == failure::unavailable);
  std::this_thread::sleep_for(400ms);  // several failed reconnect attempts

  redis.start();
  REQUIRE(eventually([&] { return client.is_up(); }));
  CHECK(run(client, {"SET", "after", "restart"}));
  CHECK(log.count("redis connection down") == 1);
  CHECK(log.count("redis connection up") == 2);
  {
    std::lock_guard lock(mutex);
    CHECK(states == std::vector<bool>{true, false, true});
  }
  stop(client);
}

TEST_CASE("redis client: a hung redis times commands out and bounds the backlog") {
  kwm::test::redis_server redis;
  kwm::test::io_thread io;
  std::atomic<int> answered{0}, succeeded{0}, overloaded{0}, other{0};
  auto options = fast_redis_options(redis.url());
  options.max_pending = 50;
  redis_client client(io.io, options);
  client.start();
  REQUIRE(eventually([&] { return client.is_up(); }));

  redis.pause();
  for (int i = 0; i < 200; ++i)
    client.command({"SET", "k" + std::to_string(i), std::string(100, 'x')},
                   [&](result<redis_reply> reply) {
                     if (reply)
                       ++succeeded;
                     else if (reply.failed().kind == failure::overloaded)
                       ++overloaded;
                     else
                       ++other;
                     ++answered;
                   });
  REQUIRE(eventually([&] { return answered == 200; }, 10s));
  CHECK(succeeded == 0);
  CHECK(overloaded >= 145);  // at most 50 (minus the health PING) got a slot
  CHECK(other >= 1);
  CHECK(eventually([&] { return !client.is_up(); }));
  CHECK(client.stats().pending <= 50);

  redis.resume();
  REQUIRE(eventually([&] { return client.is_up(); }, 10s));
  CHECK(run(client, {"PING"}));
  stop(client);
}

TEST_CASE("redis client: the pending bytes are bounded too") {
  kwm::test::redis_server redis;
  kwm::test::io_thread io;
  std::atomic<int> answered{0}, overloaded{0};
  auto options = fast_redis_options(redis.url());
  options.max_pending_bytes = 1 << 20;
  redis_client client(io.io, options);
  client.start();
  REQUIRE(eventually([&] { return client.is_up(); }));
  redis.pause();
  for (int i = 0; i < 20; ++i)
    client.command({"SET", "big" + std::to_string(i), std::string(100 * 1024, 'b')},
                   [&](result<redis_reply> reply) {
                     if (!reply && reply.failed().kind == failure::overloaded) ++overloaded;
                     ++answered;
                   });
  // About ten 100 KiB commands fit into 1 MiB; the others are refused at once.
  CHECK(eventually([&] { return overloaded >= 10; }));
  CHECK(client.stats().pending <= 11);
  stop(client);  // fails the ones in flight
  CHECK(answered == 20);
  redis.resume();
}

TEST_CASE("redis client: a killed subscriber connection comes back by itself") {
  kwm::test::redis_server redis;
  kwm::test::io_thread io;
  std::atomic<int> received{0};
  auto options = fast_redis_options(redis.url());
  options.probe_channel = "probe:test";
  redis_client client(io.io, options);
  client.subscribe("events", [&](std::string_view, std::string_view) { ++received; });
  client.start();
  REQUIRE(eventually([&] { return client.is_up(); }));
  CHECK(run(client, {"PUBLISH", "events", "1"}));
  REQUIRE(eventually([&] { return received == 1; }));
  const auto connects = client.stats().connects.load();

  const auto killed = redis.query({"CLIENT", "KILL", "TYPE", "pubsub"});
  CHECK(killed.integer == 1);
  REQUIRE(eventually([&] { return client.stats().connects > connects && client.is_up(); }));
  REQUIRE(eventually([&] {
    auto receivers = run(client, {"PUBLISH", "events", "2"});
    return receivers && receivers->integer == 1;
  }));
  CHECK(eventually([&] { return received >= 2; }));
  stop(client);
}

TEST_CASE("redis client: without any redis commands fail within the queue timeout") {
  uint16_t port = 0;
  {
    kwm::test::redis_server gone;  // a port where nothing listens once it is stopped
    port = gone.port();
  }
  kwm::test::io_thread io;
  kwm::test::log_recorder log;
  redis_client client(io.io, fast_redis_options("redis://127.0.0.1:" + std::to_string(port)),
                      log.function());
  client.start();
  auto first = run(client, {"PING"});
  REQUIRE_FALSE(first);
  CHECK(first.failed().kind == failure::unavailable);
  REQUIRE(eventually([&] { return log.count("redis connection down") == 1; }));
  std::this_thread::sleep_for(300ms);
  CHECK(log.count("redis connection down") == 1);
  CHECK(client.stats().pending == 0);
  stop(client);
}

TEST_CASE("redis client: subscriptions come back after a redis restart") {
  kwm::test::redis_server redis;
  kwm::test::io_thread io;
  std::mutex mutex;
  std::vector<std::string> received;
  redis_client subscriber(io.io, fast_redis_options(redis.url()));
  redis_client publisher(io.io, fast_redis_options(redis.url()));
  subscriber.subscribe("inbox", [&](std::string_view channel, std::string_view payload) {
    std::lock_guard lock(mutex);
    received.push_back(std::string(channel) + "=" + std::string(payload));
  });
  subscriber.psubscribe("node:*", [&](std::string_view channel, std::string_view payload) {
    std::lock_guard lock(mutex);
    received.push_back("pattern " + std::string(channel) + "=" + std::string(payload));
  });
  subscriber.start();
  publisher.start();
  REQUIRE(eventually([&] { return subscriber.is_up() && publisher.is_up(); }));
  auto receivers = run(publisher, {"PUBLISH", "inbox", std::string("one\0two", 7)});
  REQUIRE(receivers);
  CHECK(receivers->integer == 1);
  CHECK(run(publisher, {"PUBLISH", "node:7", "x"}));
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return received.size() == 2;
  }));

  redis.kill();
  REQUIRE(eventually([&] { return !subscriber.is_up(); }));
  redis.start();
  REQUIRE(eventually([&] { return subscriber.is_up() && publisher.is_up(); }, 10s));
  CHECK(run(publisher, {"PUBLISH", "inbox", "after"}));
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return received.size() == 3;
  }));
  std::lock_guard lock(mutex);
  CHECK(received[0] == std::string("inbox=one\0two", 13));
  CHECK(received[1] == "pattern node:7=x");
  CHECK(received[2] == "inbox=after");
  stop(subscriber);
  stop(publisher);
}

TEST_CASE("redis client: stop fails every pending command") {
  kwm::test::redis_server redis;
  kwm::test::io_thread io;
  std::atomic<int> stopped{0}, answered{0};
  redis_client client(io.io, fast_redis_options(redis.url()));
  client.start();
  REQUIRE(eventually([&] { return client.is_up(); }));
  redis.pause();
  for (int i = 0; i < 20; ++i)
    client.command({"INCR", "n"}, [&](result<redis_reply> reply) {
      if (!reply && reply.failed().kind == failure::stopped) ++stopped;
      ++answered;
    });
  stop(client);
  CHECK(answered == 20);
  CHECK(stopped == 20);
  redis.resume();
}
