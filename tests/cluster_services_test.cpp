// The cluster services against a real Redis: several nodes in one process (tests/support/
// cluster_harness), ghost nodes for crashes, and Redis restarts, pauses and data loss.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "cluster/bus_messages.hpp"
#include "protocol/admin_api.hpp"
#include "protocol/random.hpp"
#include "support/cluster_harness.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using kwm::cluster::admin_record;
using kwm::cluster::admission;
using kwm::cluster::cluster_node;
using kwm::cluster::failure;
using kwm::cluster::lease;
using kwm::cluster::result;
using kwm::test::await_result;
using kwm::test::cluster_harness;
using kwm::test::eventually;

namespace {

template <class T, class Call>
T must(Call call) {
  auto outcome = await_result<T>(call);
  if (!outcome)
    FAIL("cluster call failed: " << to_string(outcome.failed().kind) << ": "
                                 << outcome.failed().detail);
  return std::move(*outcome);
}

std::optional<std::string> redeem(cluster_node& node, const std::string& key) {
  return must<std::optional<std::string>>(
      [&](auto done) { node.connect_keys().redeem(key, std::move(done)); });
}

admission admit(cluster_node& node, const std::string& user, uint32_t limit) {
  return must<admission>([&](auto done) { node.users().admit(user, limit, std::move(done)); });
}

std::map<std::string, uint64_t> locate(cluster_node& node, const std::string& user) {
  auto found = must<std::vector<kwm::cluster::node_connections>>(
      [&](auto done) { node.users().locate(user, std::move(done)); });
  std::map<std::string, uint64_t> out;
  for (auto& entry : found) out[entry.node] = entry.connections;
  return out;
}

lease acquire(kwm::cluster::channel_leases& leases, const std::string& channel) {
  return must<lease>([&](auto done) { leases.acquire(channel, std::move(done)); });
}

}  // namespace

TEST_CASE("cluster connect keys: issued on one node, redeemed once on another") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  auto& c = cluster.add_node("c");
  const std::string grant("auth\0record", 11);
  must<kwm::cluster::done>(
      [&](auto done) { a.connect_keys().issue("key-1", grant, std::move(done)); });

  const auto ttl = cluster.redis.query({"PTTL", "kwm:ck:key-1"});
  CHECK(ttl.integer > 25000);
  CHECK(ttl.integer <= 30000);

  CHECK(redeem(b, "key-1") == grant);
  CHECK(redeem(c, "key-1") == std::nullopt);
  CHECK(redeem(a, "key-1") == std::nullopt);
  CHECK(redeem(a, "never-issued") == std::nullopt);

  must<kwm::cluster::done>(
      [&](auto done) { a.connect_keys().issue("key-2", "x", std::move(done)); });
  auto collision = await_result<kwm::cluster::done>(
      [&](auto done) { c.connect_keys().issue("key-2", "y", std::move(done)); });
  REQUIRE_FALSE(collision);
  CHECK(collision.failed().kind == failure::rejected);
  CHECK(redeem(b, "key-2") == "x");
}

TEST_CASE("cluster connect keys: a key is gone after its lifetime") {
  cluster_harness cluster;
  auto& a = cluster.add_node_with(
      "a", [](auto& options) { options.timing.connect_key_lifetime = 200ms; });
  must<kwm::cluster::done>(
      [&](auto done) { a.connect_keys().issue("short", "grant", std::move(done)); });
  REQUIRE(eventually([&] { return cluster.redis.query({"EXISTS", "kwm:ck:short"}).integer == 0; }));
  CHECK(redeem(a, "short") == std::nullopt);
}

TEST_CASE("cluster connect keys: concurrent redemption on three nodes succeeds exactly once") {
  std::mutex mutex;  // callback state before the cluster, which outlives its callbacks
  std::map<int, int> wins;
  std::atomic<int> answered{0}, failed{0};
  cluster_harness cluster;
  std::vector<cluster_node*> nodes = {&cluster.add_node("a"), &cluster.add_node("b"),
                                      &cluster.add_node("c")};
  constexpr int keys = 300;
  for (int i = 0; i < keys; ++i)
    must<kwm::cluster::done>([&](auto done) {
      nodes[static_cast<std::size_t>(i) % 3]->connect_keys().issue(
          "k" + std::to_string(i), "g" + std::to_string(i), std::move(done));
    });
  for (int i = 0; i < keys; ++i)
    for (auto* node : nodes)
      node->connect_keys().redeem("k" + std::to_string(i),
                                  [&, i](result<std::optional<std::string>> got) {
                                    if (!got) ++failed;
                                    if (got && *got) {
                                      std::lock_guard lock(mutex);
                                      CHECK(**got == "g" + std::to_string(i));
                                      ++wins[i];
                                    }
                                    ++answered;
                                  });
  REQUIRE(eventually([&] { return answered == 3 * keys; }, 15s));
  CHECK(failed == 0);
  std::lock_guard lock(mutex);
  CHECK(wins.size() == static_cast<std::size_t>(keys));
  for (const auto& [key, count] : wins) CHECK(count == 1);
}

TEST_CASE("cluster users: the connection cap counts every node") {
  std::atomic<int> admitted{0}, answered{0};
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  auto& c = cluster.add_node("c");
  CHECK(admit(a, "alice", 3).connections == 1);
  CHECK(admit(b, "alice", 3).connections == 2);
  const auto third = admit(c, "alice", 3);
  CHECK(third.admitted);
  CHECK(third.connections == 3);
  const auto refused = admit(a, "alice", 3);
  CHECK_FALSE(refused.admitted);
  CHECK(refused.connections == 3);
  must<kwm::cluster::done>([&](auto done) { b.users().release("alice", std::move(done)); });
  CHECK(admit(a, "alice", 3).admitted);
  CHECK(admit(b, "bob", 0).admitted);  // 0 = no limit

  // Many admissions at once from three nodes: exactly the limit gets in.
  for (int i = 0; i < 30; ++i)
    (i % 3 == 0   ? a
     : i % 3 == 1 ? b
                  : c)
        .users()
        .admit("carol", 16, [&](result<admission> got) {
          if (got && got->admitted) ++admitted;
          ++answered;
        });
  REQUIRE(eventually([&] { return answered == 30; }));
  CHECK(admitted == 16);
}

TEST_CASE("cluster users: presence lists the nodes that hold a user's connections") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  auto& c = cluster.add_node("c");
  admit(a, "alice", 0);
  admit(a, "alice", 0);
  admit(c, "alice", 0);
  CHECK(locate(b, "alice") == std::map<std::string, uint64_t>{{a.id(), 2}, {c.id(), 1}});
  must<kwm::cluster::done>([&](auto done) { c.users().release("alice", std::move(done)); });
  CHECK(locate(b, "alice") == std::map<std::string, uint64_t>{{a.id(), 2}});
  CHECK(locate(b, "nobody").empty());
}

TEST_CASE("cluster users: connections on a node that died stop counting") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto ghost = cluster.add_ghost("ghost-1");
  must<admission>([&](auto done) { ghost->users->admit("dave", 2, std::move(done)); });
  must<admission>([&](auto done) { ghost->users->admit("dave", 2, std::move(done)); });
  REQUIRE(eventually([&] {
    ghost->beat();
    return a.alive_nodes().size() == 2;
  }));
  CHECK_FALSE(admit(a, "dave", 2).admitted);
  CHECK(locate(a, "dave").size() == 1);
  // The ghost stops heartbeating (kill -9): one TTL later its connections no longer count.
  REQUIRE(eventually([&] { return a.alive_nodes().size() == 1; }, 10s));
  CHECK(admit(a, "dave", 2).admitted);
  // The dead node's count was deleted by the script that met it.
  CHECK(cluster.redis.query({"HEXISTS", "kwm:u:dave", "ghost-1"}).integer == 0);
  CHECK(locate(a, "dave") == std::map<std::string, uint64_t>{{a.id(), 1}});
}

TEST_CASE("cluster users: after redis lost its data a node rejoins and resyncs") {
  std::atomic<int> rejoins{0};  // before the cluster: its observer must not outlive it
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  a.on_rejoin([&] { ++rejoins; });
  auto& b = cluster.add_node("b");
  admit(a, "erin", 0);
  admit(a, "erin", 0);

  cluster.redis.kill();
  REQUIRE(eventually([&] { return !a.healthy(); }));
  cluster.redis.start();  // empty: nothing was persisted
  REQUIRE(eventually([&] { return a.healthy() && b.healthy(); }, 10s));
  REQUIRE(eventually([&] { return rejoins >= 1; }));
  CHECK(locate(b, "erin").empty());
  must<kwm::cluster::done>([&](auto done) {
    a.users().resync({{"erin", 2}, {"gone", 0}}, std::move(done));
  });
  CHECK(locate(b, "erin") == std::map<std::string, uint64_t>{{a.id(), 2}});
  CHECK(cluster.redis.query({"PTTL", "kwm:u:erin"}).integer > 0);
}

TEST_CASE(
    "cluster MCU: transactions are found on every node and used up once; handles are shared") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  auto& c = cluster.add_node("c");
  auto find = [](cluster_node& node, const std::string& transaction, bool take) {
    return must<std::optional<std::string>>(
        [&](auto done) { node.mcu_transactions().find(transaction, take, std::move(done)); });
  };
  must<kwm::cluster::done>([&](auto done) { a.mcu_transactions().issue("tx-1", std::move(done)); });
  const auto ttl = cluster.redis.query({"PTTL", "kwm:mcu:tx:tx-1"});
  CHECK(ttl.integer > 25000);
  CHECK(ttl.integer <= 30000);
  auto again = await_result<kwm::cluster::done>(
      [&](auto done) { b.mcu_transactions().issue("tx-1", std::move(done)); });
  REQUIRE_FALSE(again);
  CHECK(again.failed().kind == failure::rejected);

  CHECK(find(b, "tx-1", false) == a.id());  // a look does not use it up (D11)
  CHECK(find(c, "tx-1", false) == a.id());
  CHECK(find(c, "tx-1", true) == a.id());
  CHECK(find(b, "tx-1", true) == std::nullopt);
  CHECK(find(a, "tx-1", false) == std::nullopt);
  CHECK(find(a, "never-issued", true) == std::nullopt);

  auto handle = [](cluster_node& node) {
    return must<int64_t>([&](auto done) { node.mcu_transactions().next_handle(std::move(done)); });
  };
  CHECK(handle(a) == 1);
  CHECK(handle(b) == 2);
  CHECK(handle(a) == 3);
}

TEST_CASE("cluster MCU: control sockets are counted per node apart from every user") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  const std::string holder(kwm::cluster::key_space::mcu_control_holder);
  must<admission>([&](auto done) { a.mcu_controls().admit(holder, 0, std::move(done)); });
  must<admission>([&](auto done) { a.mcu_controls().admit(holder, 0, std::move(done)); });
  auto found = must<std::vector<kwm::cluster::node_connections>>(
      [&](auto done) { b.mcu_controls().locate(holder, std::move(done)); });
  REQUIRE(found.size() == 1);
  CHECK(found[0].node == a.id());
  CHECK(found[0].connections == 2);
  CHECK(cluster.redis.query({"HGET", "kwm:mcu:u:control", a.id()}).text == "2");
  // A user who happens to be called like the holder is another hash.
  CHECK(locate(b, holder).empty());
  CHECK(cluster.redis.query({"EXISTS", "kwm:u:control"}).integer == 0);
}

TEST_CASE("cluster registry: nodes see each other, leave at once, and expire after a crash") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  auto& c = cluster.add_node("c");
  auto sees = [](cluster_node& node, std::size_t count) {
    return eventually([&] { return node.alive_nodes().size() == count; });
  };
  CHECK(sees(a, 3));
  CHECK(sees(b, 3));
  CHECK(a.metrics().nodes_alive == 3);
  const std::string c_id = c.id();
  cluster.stop_node(c);
  CHECK(sees(a, 2));
  CHECK(cluster.redis.query({"ZSCORE", "kwm:nodes", c_id}).is_nil());

  auto ghost = cluster.add_ghost("ghost-2");
  CHECK(eventually([&] {
    ghost->beat();
    return a.alive_nodes().size() == 3;
  }));
  CHECK(eventually([&] { return a.alive_nodes().size() == 2; }, 10s));  // no more heartbeats
  auto info =
      must<kwm::cluster::node_info>([&](auto done) { a.registry().info(b.id(), std::move(done)); });
  CHECK(std::find(info.begin(), info.end(), std::pair<std::string, std::string>{"name", "b"}) !=
        info.end());
}

TEST_CASE("cluster registry: an alive node id cannot join twice") {
  cluster_harness cluster;
  auto ghost = cluster.add_ghost("twin");
  auto again = must<bool>([&](auto done) { ghost->registry->join({}, std::move(done)); });
  CHECK_FALSE(again);
  CHECK(kwm::cluster::valid_node_name("node-1.example_a"));
  CHECK_FALSE(kwm::cluster::valid_node_name(""));
  CHECK_FALSE(kwm::cluster::valid_node_name("with space"));
  CHECK_FALSE(kwm::cluster::valid_node_name(std::string(65, 'n')));
  CHECK(kwm::cluster::make_node_id("a") != kwm::cluster::make_node_id("a"));
}

TEST_CASE("cluster leases: one owner at a time, fenced member writes, takeover after a crash") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  const lease first = acquire(a.leases(), "@room");
  CHECK(first.mine);
  CHECK(first.taken);
  CHECK(first.owner == a.id());
  const lease seen_by_b = acquire(b.leases(), "@room");
  CHECK_FALSE(seen_by_b.mine);
  CHECK(seen_by_b.owner == a.id());
  CHECK(seen_by_b.fence == first.fence);
  const lease again = acquire(a.leases(), "@room");
  CHECK(again.mine);
  CHECK_FALSE(again.taken);
  CHECK(again.fence == first.fence);

  CHECK(must<bool>([&](auto done) {
    a.leases().put_member("@room", first.fence, "alice", "rec-a", std::move(done));
  }));
  CHECK_FALSE(must<bool>([&](auto done) {
    b.leases().put_member("@room", first.fence, "bob", "rec-b", std::move(done));
  }));
  CHECK_FALSE(must<bool>([&](auto done) {
    a.leases().put_member("@room", first.fence + 1, "x", "y", std::move(done));
  }));

  // A ghost owner writes members, then dies; b takes over with a larger token and finds them.
  auto ghost = cluster.add_ghost("ghost-3");
  const lease ghostly = acquire(*ghost->leases, "*call");
  REQUIRE(ghostly.mine);
  CHECK(ghostly.fence > first.fence);
  CHECK(must<bool>([&](auto done) {
    ghost->leases->put_member("*call", ghostly.fence, "carol", "rec-c", std::move(done));
  }));
  ghost->beat();
  CHECK_FALSE(acquire(b.leases(), "*call").mine);
  REQUIRE(eventually([&] { return acquire(b.leases(), "*call").mine; }, 10s));
  const lease taken = acquire(b.leases(), "*call");
  CHECK(taken.fence > ghostly.fence);
  auto members = must<kwm::cluster::member_records>(
      [&](auto done) { b.leases().members("*call", std::move(done)); });
  CHECK(members == kwm::cluster::member_records{{"carol", "rec-c"}});
  // The old owner is fenced off, and its renewal reports the loss.
  CHECK_FALSE(must<bool>([&](auto done) {
    ghost->leases->remove_member("*call", ghostly.fence, "carol", std::move(done));
  }));
  auto lost = must<std::vector<std::string>>([&](auto done) {
    ghost->leases->renew({{"*call", ghostly.fence}}, std::move(done));
  });
  CHECK(lost == std::vector<std::string>{"*call"});
  CHECK(must<bool>([&](auto done) {
    b.leases().remove_member("*call", taken.fence, "carol", std::move(done));
  }));

  // Release: only by the holder; then nobody owns it.
  CHECK_FALSE(
      must<bool>([&](auto done) { b.leases().release("@room", first.fence, std::move(done)); }));
  CHECK(must<bool>([&](auto done) { a.leases().release("@room", first.fence, std::move(done)); }));
  CHECK(must<lease>([&](auto done) { b.leases().owner("@room", std::move(done)); }).owner.empty());
  CHECK(cluster.redis.query({"EXISTS", "kwm:members:@room"}).integer == 0);
}

TEST_CASE("cluster leases: racing nodes agree on one owner per channel") {
  std::mutex mutex;
  std::map<std::string, std::set<std::string>> owners;
  std::map<std::string, int> mine;
  std::atomic<int> answered{0};
  cluster_harness cluster;
  std::vector<cluster_node*> nodes = {&cluster.add_node("a"), &cluster.add_node("b"),
                                      &cluster.add_node("c")};
  constexpr int channels = 100;
  for (int i = 0; i < channels; ++i)
    for (auto* node : nodes)
      node->leases().acquire("@g" + std::to_string(i), [&, i](result<lease> got) {
        std::lock_guard lock(mutex);
        if (got) {
          owners["@g" + std::to_string(i)].insert(got->owner);
          if (got->mine) ++mine["@g" + std::to_string(i)];
        }
        ++answered;
      });
  REQUIRE(eventually([&] { return answered == 3 * channels; }, 15s));
  std::lock_guard lock(mutex);
  CHECK(owners.size() == static_cast<std::size_t>(channels));
  for (const auto& [channel, holders] : owners) CHECK(holders.size() == 1);
  for (const auto& [channel, count] : mine) CHECK(count == 1);
  CHECK(mine.size() == static_cast<std::size_t>(channels));
}

TEST_CASE(
    "cluster leases: renew keeps owned leases and fencing tokens grow after redis lost its data") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  const lease before = acquire(a.leases(), "@one");
  const lease other = acquire(a.leases(), "@two");
  auto lost = must<std::vector<std::string>>([&](auto done) {
    a.leases().renew({{"@one", before.fence}, {"@two", other.fence}}, std::move(done));
  });
  CHECK(lost.empty());
  CHECK(cluster.redis.query({"PTTL", "kwm:lease:@one"}).integer > 50000);

  cluster.redis.kill();
  cluster.redis.start();
  REQUIRE(eventually([&] { return a.healthy(); }, 10s));
  lost = must<std::vector<std::string>>([&](auto done) {
    a.leases().renew({{"@one", before.fence}}, std::move(done));
  });
  CHECK(lost == std::vector<std::string>{"@one"});
  const lease after = acquire(a.leases(), "@one");
  CHECK(after.taken);
  CHECK(after.fence > other.fence);
}

TEST_CASE("cluster hash key: made once, the same on every node, restored after data loss") {
  std::atomic<int> changes{0};
  cluster_harness cluster;
  auto& a = cluster.add_node("a", std::string(32, 'A'));
  a.on_hash_key_change([&](const std::string&) { ++changes; });
  cluster.add_node("b", std::string(32, 'B'));
  CHECK(cluster.agreed_key == std::string(32, 'A'));
  auto b_key = must<std::string>(
      [&](auto done) { a.hash_key().ensure(std::string(32, 'C'), std::move(done)); });
  CHECK(b_key == std::string(32, 'A'));

  cluster.redis.kill();
  cluster.redis.start();
  REQUIRE(eventually(
      [&] {
        return cluster.redis.query({"GET", "kwm:hash-key"}).text == std::string(32, 'A');
      },
      10s));
  CHECK(changes == 0);
}

TEST_CASE("cluster admin tokens: records, refresh, revocation and the list are shared") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  auto& c = cluster.add_node("c");
  using kwm::cluster::done;
  must<done>([&](auto finished) {
    a.admin_tokens().put({"admin-Token-bob", "body-bob", 100}, std::move(finished));
  });
  must<done>([&](auto finished) {
    a.admin_tokens().put({"admin-Token-alice", "body-alice", 200}, std::move(finished));
  });
  // A verification elsewhere refreshes (and updates exp), keeping the body.
  CHECK(must<bool>([&](auto finished) {
    b.admin_tokens().touch({"admin-Token-alice", "ignored", 300}, "alice", 10, std::move(finished));
  }));
  auto listed = must<std::vector<admin_record>>(
      [&](auto finished) { c.admin_tokens().list(5000, std::move(finished)); });
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].id == "admin-Token-alice");  // byte order
  CHECK(listed[0].body == "body-alice");
  CHECK(listed[0].exp == 300);
  CHECK(listed[1].exp == 100);
  CHECK(must<std::vector<admin_record>>([&](auto finished) {
          c.admin_tokens().list(1, std::move(finished));
        }).size() == 1);

  // DELETE on c revokes everywhere: tokens issued at or before T no longer refresh.
  CHECK(must<int64_t>([&](auto finished) {
          c.admin_tokens().revoke("alice", 1000, 3600s, 0, std::move(finished));
        }) == 1000);
  CHECK(must<int64_t>([&](auto finished) {
          a.admin_tokens().revoke("alice", 900, 3600s, 0, std::move(finished));
        }) == 1000);
  CHECK(must<std::optional<int64_t>>([&](auto finished) {
          b.admin_tokens().revoked_at("alice", std::move(finished));
        }) == 1000);
  CHECK_FALSE(must<bool>([&](auto finished) {
    a.admin_tokens().touch({"admin-Token-alice", "x", 0}, "alice", 1000, std::move(finished));
  }));
  CHECK(must<bool>([&](auto finished) {
    a.admin_tokens().touch({"admin-Token-alice", "x", 0}, "alice", 1001, std::move(finished));
  }));
  CHECK(must<bool>(
      [&](auto finished) { b.admin_tokens().remove("admin-Token-alice", std::move(finished)); }));
  CHECK_FALSE(must<bool>(
      [&](auto finished) { c.admin_tokens().remove("admin-Token-alice", std::move(finished)); }));
  CHECK(must<std::optional<int64_t>>([&](auto finished) {
          b.admin_tokens().revoked_at("nobody", std::move(finished));
        }) == std::nullopt);
  // Old revocations are forgotten once older than `keep`.
  must<int64_t>([&](auto finished) {
    c.admin_tokens().revoke("zed", 1'000'000, 10s, 0, std::move(finished));
  });
  CHECK(must<std::optional<int64_t>>([&](auto finished) {
          b.admin_tokens().revoked_at("alice", std::move(finished));
        }) == std::nullopt);
}

TEST_CASE("cluster admin tokens: records and revocations are bounded as on one node") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  using kwm::cluster::done;
  // Records: as many as a list shows (N4), whichever node wrote them; a token without room
  // still refreshes (touch answers "not revoked") but is not listed.
  const auto limit = kwm::protocol::admin_list_limit;
  for (std::size_t i = 0; i < limit; ++i)
    must<done>([&](auto finished) {
      (i % 2 == 0 ? a : b)
          .admin_tokens()
          .put({"admin-Token-u" + std::to_string(i), "body", 0}, std::move(finished));
    });
  must<done>([&](auto finished) {
    a.admin_tokens().put({"admin-Token-over", "body", 0}, std::move(finished));
  });
  CHECK(must<bool>([&](auto finished) {
    b.admin_tokens().touch({"admin-Token-late", "body", 0}, "late", 10, std::move(finished));
  }));
  CHECK(cluster.redis.query({"ZCARD", "kwm:admin:records"}).integer == static_cast<int64_t>(limit));
  CHECK(cluster.redis.query({"HLEN", "kwm:admin:data"}).integer == static_cast<int64_t>(limit));
  // An existing record is still replaced.
  must<done>([&](auto finished) {
    b.admin_tokens().put({"admin-Token-u0", "new body", 0}, std::move(finished));
  });
  CHECK(cluster.redis.query({"HGET", "kwm:admin:data", "admin-Token-u0"}).text == "new body");

  // Revocations: a new subject beyond the bound is refused, a known one revoked again.
  for (const char* subject : {"s1", "s2"})
    must<int64_t>([&](auto finished) {
      a.admin_tokens().revoke(subject, 1000, 3600s, 2, std::move(finished));
    });
  const auto refused = await_result<int64_t>(
      [&](auto finished) { b.admin_tokens().revoke("s3", 1000, 3600s, 2, std::move(finished)); });
  REQUIRE_FALSE(refused);
  CHECK(refused.failed().kind == failure::rejected);
  CHECK(refused.failed().detail == kwm::cluster::revocations_full);
  CHECK(must<int64_t>([&](auto finished) {
          b.admin_tokens().revoke("s1", 2000, 3600s, 2, std::move(finished));
        }) == 2000);
}

TEST_CASE("cluster admin tokens: records expire after their lifetime") {
  cluster_harness cluster;
  auto& a = cluster.add_node_with(
      "a", [](auto& options) { options.timing.admin_record_lifetime = 200ms; });
  must<kwm::cluster::done>([&](auto finished) {
    a.admin_tokens().put({"admin-Basic-x", "b", 0}, std::move(finished));
  });
  REQUIRE(eventually([&] {
    auto listed = await_result<std::vector<admin_record>>(
        [&](auto finished) { a.admin_tokens().list(10, std::move(finished)); });
    return listed && listed->empty();
  }));
  CHECK(cluster.redis.query({"HLEN", "kwm:admin:data"}).integer == 0);
}

TEST_CASE(
    "cluster bus: messages reach the addressed node in order, broadcasts the others, requests get "
    "replies") {
  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> received;  // node → frames
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  auto& b = cluster.add_node("b");
  auto& c = cluster.add_node("c");
  for (auto* node : {&a, &b, &c})
    node->bus().start(
        [&, id = node->id()](const kwm::cluster::bus_envelope& message) {
          std::lock_guard lock(mutex);
          if (message.kind == kwm::cluster::bus_kind::deliver) {
            auto deliver = kwm::cluster::decode_deliver(message.body);
            REQUIRE(deliver);
            received[id].push_back(std::string(deliver->frame));
          } else if (message.kind == kwm::cluster::bus_kind::node_event) {
            received[id].push_back("event from " + std::string(message.origin));
          }
        },
        [&, id = node->id()](const kwm::cluster::bus_envelope&, std::string_view body,
                             auto respond) {
          if (body != "silence") respond(id + " got " + std::string(body));
        });
  // Every inbox and the all-nodes channel are subscribed before anything is sent.
  REQUIRE(eventually([&] {
    auto subscribed = cluster.redis.query({"PUBSUB", "NUMSUB", "kwm:all", "kwm:inbox:" + a.id(),
                                           "kwm:inbox:" + b.id(), "kwm:inbox:" + c.id()});
    return subscribed.elements.size() == 8 && subscribed.elements[1].integer == 3 &&
           subscribed.elements[3].integer == 1 && subscribed.elements[5].integer == 1 &&
           subscribed.elements[7].integer == 1;
  }));

  constexpr int count = 500;
  for (int i = 0; i < count; ++i)
    a.bus().send(b.id(), kwm::cluster::encode(a.id(), kwm::cluster::deliver_message{
                                                          "*c", 1, std::to_string(i), {7}}));
  a.bus().broadcast(kwm::cluster::encode(a.id(), kwm::cluster::node_event_message{}));
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return received[b.id()].size() == count + 1 && received[c.id()].size() == 1;
  }));
  {
    std::lock_guard lock(mutex);
    for (int i = 0; i < count; ++i)
      CHECK(received[b.id()][static_cast<std::size_t>(i)] == std::to_string(i));
    CHECK(received[b.id()].back() == "event from " + a.id());
    CHECK(received[c.id()] == std::vector<std::string>{"event from " + a.id()});
    CHECK(received[a.id()].empty());  // not its own broadcast
  }

  auto answer =
      must<std::string>([&](auto done) { a.bus().request(c.id(), "hello", 2s, std::move(done)); });
  CHECK(answer == c.id() + " got hello");
  auto timeout = await_result<std::string>(
      [&](auto done) { a.bus().request(c.id(), "silence", 200ms, std::move(done)); });
  REQUIRE_FALSE(timeout);
  CHECK(timeout.failed().kind == failure::timeout);
  auto nobody = await_result<std::string>(
      [&](auto done) { a.bus().request("no-such-node", "x", 5s, std::move(done)); });
  REQUIRE_FALSE(nobody);
  CHECK(nobody.failed().kind == failure::unavailable);
  CHECK(a.bus().stats().sent >= static_cast<uint64_t>(count));
  CHECK(b.bus().stats().received >= static_cast<uint64_t>(count));

  // Garbage on an inbox is counted and dropped.
  cluster.redis.query({"PUBLISH", "kwm:inbox:" + b.id(), "\x09garbage"});
  CHECK(eventually([&] { return b.bus().stats().refused >= 1; }));
}

TEST_CASE("cluster node: start completes only once the node is healthy, its inbox subscribed") {
  // Before, start completed at the agreed key, while the subscriber could still be connecting:
  // a server then listened with frames to its inbox lost and connects refused (503).
  cluster_harness harness;
  for (int i = 0; i < 5; ++i) {
    kwm::cluster::cluster_node node(harness.io.io,
                               kwm::test::fast_cluster_options(harness.redis.url(), "s" + std::to_string(i)));
    std::atomic<bool> healthy_when_started{false};
    auto agreed = await_result<std::string>([&](auto done) {
      node.start(kwm::protocol::random_bytes(kwm::protocol::hmac_key_bytes),
                 [&node, &healthy_when_started, done](kwm::cluster::result<std::string> key) {
                   healthy_when_started = node.healthy();
                   done(std::move(key));
                 });
    });
    REQUIRE(agreed);
    CHECK(healthy_when_started);
    kwm::test::await_done([&](auto done) { node.stop(std::move(done)); });
  }
}

TEST_CASE("cluster node: health follows redis and heals after a restart") {
  std::mutex mutex;
  std::vector<bool> changes;
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  a.on_health_change([&](bool healthy) {
    std::lock_guard lock(mutex);
    changes.push_back(healthy);
  });
  cluster.redis.stop();
  REQUIRE(eventually([&] { return !a.healthy(); }));
  auto refused = await_result<std::optional<std::string>>(
      [&](auto done) { a.connect_keys().redeem("k", std::move(done)); });
  REQUIRE_FALSE(refused);
  // unavailable, or lost when the command connection noticed the end after the subscriber
  CHECK((refused.failed().kind == failure::unavailable || refused.failed().kind == failure::lost));
  std::this_thread::sleep_for(300ms);
  cluster.redis.start();
  REQUIRE(eventually([&] { return a.healthy(); }, 10s));
  std::lock_guard lock(mutex);
  CHECK(changes == std::vector<bool>{false, true});
  CHECK(cluster.log.count("cluster node unhealthy") == 1);
  CHECK(cluster.log.count("redis connection down") == 1);
}

TEST_CASE("cluster node: a hung redis makes the node unhealthy until it answers again") {
  cluster_harness cluster;
  auto& a = cluster.add_node("a");
  cluster.redis.pause();
  REQUIRE(eventually([&] { return !a.healthy(); }));
  cluster.redis.resume();
  REQUIRE(eventually([&] { return a.healthy(); }, 10s));
  // Unhealthy because its registration aged past the node TTL, or because the client gave up
  // on the silent connection: either way logged once.
  CHECK(cluster.log.count("cluster node unhealthy") == 1);
}
