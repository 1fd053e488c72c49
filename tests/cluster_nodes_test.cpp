// Three kwmserverd nodes as child processes on one suite-started redis-server (D23,
// docs/cluster.md): what a client sees must not depend on the node it reached. Every wait
// is for a condition; nothing asserts timing.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>
#include <tuple>

#include "support/redis_server.hpp"
#include "support/rtm_peer.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

using namespace kwm::test;
using namespace std::chrono_literals;

namespace {

std::string str(const rapidjson::Value& value, const char* key) {
  REQUIRE(value.HasMember(key));
  return value[key].GetString();
}

std::vector<std::string> members_of(const rapidjson::Value& frame) {
  std::vector<std::string> members;
  for (const auto& member : frame["data"]["group"]["members"].GetArray())
    members.emplace_back(member.GetString());
  return members;
}

struct cluster_of_nodes {
  explicit cluster_of_nodes(int count = 3, std::vector<std::string> extra = {}) {
    for (int i = 0; i < count; ++i) add(extra);
  }
  server_process& add(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> flags = {"--cluster-redis",     redis.url(),
                                      "--cluster-node-name", "n" + std::to_string(nodes.size()),
                                      "--cluster-node-ttl",  "2",
                                      "--rtm-rate-limit",    "0"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    nodes.push_back(std::make_unique<server_process>(flags));
    return *nodes.back();
  }
  // A peer whose hello was read, on node `index`.
  std::unique_ptr<rtm_peer> peer(std::size_t index, const std::string& user) {
    auto& node = *nodes.at(index);
    return std::make_unique<rtm_peer>(
        user, std::make_unique<ws_client>(node.port(), node.connect_path(user)));
  }
  redis_server redis;
  std::vector<std::unique_ptr<server_process>> nodes;
};

// Waits for cluster conditions (a failover, Redis coming back) with a generous limit, so
// that a loaded CI machine passes.
template <class Condition>
bool within(Condition condition, std::chrono::milliseconds limit = 20s) {
  return eventually(
      [&] {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
        return false;
      },
      limit);
}

// Skips frames until one satisfies `match` (chat notices, member updates in between).
rapidjson::Document next_matching(rtm_peer& peer,
                                  const std::function<bool(const rapidjson::Document&)>& match) {
  for (int i = 0; i < 50; ++i) {
    auto text = peer.ws->next_text(10s);
    REQUIRE_MESSAGE(text.has_value(), peer.user << " expected a matching frame");
    auto doc = parse_json(*text);
    if (doc.IsObject() && match(doc)) return doc;
  }
  FAIL(peer.user << ": no matching frame among 50");
  return {};
}

bool has_subtype(const rapidjson::Document& doc, const char* subtype) {
  return doc.HasMember("subtype") && doc["subtype"].IsString() &&
         std::string(doc["subtype"].GetString()) == subtype;
}

std::string group_join(const std::string& group, uint64_t id) {
  return R"({"type":"webrtc","subtype":"webrtc_group","id":)" + std::to_string(id) +
         R"(,"target":")" + group + R"(","group":")" + group +
         R"(","initiator":false,"state":"s","channel":"","hash":"","transaction":"","v":20180703})";
}

std::string chat(const std::string& channel, const std::string& text, uint64_t id) {
  return R"({"type":"chats","subtype":"chats_message","id":)" + std::to_string(id) +
         R"(,"channel":")" + channel + R"(","data":{"text":")" + text + R"("}})";
}

// Joins `peer` to `group` and returns the member list of the reply.
std::vector<std::string> join(rtm_peer& peer, const std::string& group, uint64_t id = 1) {
  peer.send(group_join(group, id));
  auto reply = next_matching(peer, [&](const rapidjson::Document& doc) {
    return doc.HasMember("reply_to") && doc["reply_to"].GetUint64() == id;
  });
  REQUIRE_MESSAGE(has_subtype(reply, "webrtc_channel"), peer.user << ": " << str(reply, "type"));
  return members_of(reply);
}

// The member list `peer` receives next (skipping chat notices).
std::vector<std::string> next_members(rtm_peer& peer) {
  return members_of(next_matching(peer, [](const rapidjson::Document& doc) {
    return has_subtype(doc, "webrtc_channel") && !doc.HasMember("reply_to");
  }));
}

// After an owner node went away: `sender` chats in @room until `listener` (on a third node)
// hears it, which shows both were joined to the channel's new owner.
bool heard_after_takeover(rtm_peer& sender, rtm_peer& listener, const std::string& text) {
  uint64_t id = 1000;
  return within(
      [&] {
        sender.send(chat("@room", text, ++id));
        sender.until_pong();
        for (const auto& frame : listener.until_pong()) {
          const auto doc = parse_json(frame);
          if (doc.IsObject() && has_subtype(doc, "chats_message") &&
              str(doc["data"], "text") == text && str(doc["data"], "sender") == sender.user)
            return true;
        }
        return false;
      },
      30s);
}

// alice on node 0 (the group's owner: first joiner), bob on 1, carol on 2, all in @room.
std::tuple<std::unique_ptr<rtm_peer>, std::unique_ptr<rtm_peer>, std::unique_ptr<rtm_peer>>
room_on_three_nodes(cluster_of_nodes& cluster) {
  auto alice = cluster.peer(0, "alice");
  auto bob = cluster.peer(1, "bob");
  auto carol = cluster.peer(2, "carol");
  join(*alice, "room");
  join(*bob, "room");
  join(*carol, "room");
  bob->until_pong();
  carol->until_pong();
  return {std::move(alice), std::move(bob), std::move(carol)};
}

const std::vector<std::string> abc = {"alice", "bob", "carol"};

}  // namespace

TEST_CASE("cluster: a connect key issued on one node is redeemed once, on another") {
  cluster_of_nodes cluster;
  const auto path = cluster.nodes[0]->connect_path("alice");
  ws_client on_b(cluster.nodes[1]->port(), path);
  REQUIRE(on_b.is_open());
  CHECK(on_b.next_text()->rfind(R"({"type":"hello")", 0) == 0);
  ws_client on_c(cluster.nodes[2]->port(), path);
  CHECK(on_c.handshake.status == 404);
  CHECK(cluster.nodes[0]->call("GET", "/health-check").status == 200);
}

TEST_CASE("cluster: a 1:1 call rings every device, taken elsewhere and hangup reach every node") {
  cluster_of_nodes cluster;
  auto alice = cluster.peer(0, "alice");
  auto bob_b = cluster.peer(1, "bob");
  auto bob_c = cluster.peer(2, "bob");
  alice->send(
      R"({"type":"webrtc","subtype":"webrtc_call","id":2,"target":"bob","initiator":true,"state":"a","transaction":"t","v":20180703})");
  const auto reply = alice->next_json();
  const auto channel = str(reply, "channel");
  const auto hash = str(reply, "hash");
  // Both devices ring, on two other nodes.
  for (auto* bob : {bob_b.get(), bob_c.get()}) {
    const auto call = bob->next_json();
    CHECK(str(call, "subtype") == "webrtc_call");
    CHECK(str(call, "source") == "alice");
    CHECK(str(call, "channel") == channel);
  }
  // bob accepts on C: alice hears it, bob's device on B is told it was taken elsewhere.
  bob_c->send(
      R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":"alice","initiator":false,"state":"b","channel":")" +
      channel + R"(","hash":")" + hash +
      R"(","transaction":"t","v":20180703,"data":{"accept":true,"state":"a"}})");
  const auto answered = next_matching(
      *alice, [](const rapidjson::Document& doc) { return has_subtype(doc, "webrtc_call"); });
  CHECK(str(answered, "source") == "bob");
  const auto taken = bob_b->next_json();  // the "taken elsewhere" notice (spec §3.11)
  CHECK(str(taken, "subtype") == "webrtc_call");
  CHECK(str(taken, "channel") == channel);
  CHECK_FALSE(taken.HasMember("data"));
  // Signals both ways across nodes, in order.
  for (int i = 0; i < 20; ++i)
    alice->send(R"({"type":"webrtc","subtype":"webrtc_signal","id":)" + std::to_string(10 + i) +
                R"(,"target":"bob","state":"s","channel":")" + channel + R"(","hash":")" + hash +
                R"(","pcid":"p","v":20180703,"data":{"n":)" + std::to_string(i) + "}}");
  for (int i = 0; i < 20; ++i) {
    const auto signal = bob_c->next_json();
    REQUIRE(str(signal, "subtype") == "webrtc_signal");
    CHECK(signal["data"]["n"].GetInt() == i);
  }
  bob_c->send(
      R"({"type":"webrtc","subtype":"webrtc_signal","id":3,"target":"alice","state":"s","channel":")" +
      channel + R"(","hash":")" + hash + R"(","pcid":"p","v":20180703,"data":{"back":true}})");
  CHECK(next_matching(*alice,
                      [](const rapidjson::Document& doc) {
                        return has_subtype(doc, "webrtc_signal");
                      })["data"]["back"]
            .GetBool());
  // A hangup to a user who never joined reaches every device of that user on every node.
  auto carol_b = cluster.peer(1, "carol");
  auto carol_c = cluster.peer(2, "carol");
  alice->send(
      R"({"type":"webrtc","subtype":"webrtc_call","id":4,"target":"carol","initiator":true,"state":"a","transaction":"t","v":20180703})");
  const auto second = next_matching(
      *alice, [](const rapidjson::Document& doc) { return doc.HasMember("reply_to"); });
  for (auto* carol : {carol_b.get(), carol_c.get()})
    CHECK(str(carol->next_json(), "subtype") == "webrtc_call");
  alice->send(
      R"({"type":"webrtc","subtype":"webrtc_hangup","id":5,"target":"carol","state":"a","channel":")" +
      str(second, "channel") + R"(","hash":")" + str(second, "hash") +
      R"(","v":20180703,"data":{}})");
  for (auto* carol : {carol_b.get(), carol_c.get()})
    CHECK(str(carol->next_json(), "subtype") == "webrtc_hangup");
}

TEST_CASE("cluster: a group on three nodes has one member list and one chat order") {
  cluster_of_nodes cluster;
  auto alice = cluster.peer(0, "alice");
  auto bob = cluster.peer(1, "bob");
  auto carol = cluster.peer(2, "carol");
  CHECK(join(*alice, "room") == std::vector<std::string>{"alice"});
  CHECK(join(*bob, "room") == std::vector<std::string>{"alice", "bob"});
  CHECK(next_members(*alice) == std::vector<std::string>{"alice", "bob"});
  CHECK(join(*carol, "room") == abc);
  CHECK(next_members(*alice) == abc);
  CHECK(next_members(*bob) == abc);
  // Everybody chats at once: the owner sequences, every member sees one order and the ids.
  constexpr int per_sender = 10;
  std::vector<rtm_peer*> peers = {alice.get(), bob.get(), carol.get()};
  for (int i = 0; i < per_sender; ++i)
    for (std::size_t p = 0; p < peers.size(); ++p)
      peers[p]->send(chat("@room", peers[p]->user + std::to_string(i), 100 + i));
  std::vector<std::vector<std::string>> seen(peers.size());
  for (std::size_t p = 0; p < peers.size(); ++p) {
    while (seen[p].size() < per_sender * peers.size()) {
      const auto frame = next_matching(*peers[p], [](const rapidjson::Document& doc) {
        return has_subtype(doc, "chats_message");
      });
      seen[p].push_back(str(frame["data"], "id") + ":" + str(frame["data"], "text"));
    }
  }
  CHECK(seen[0] == seen[1]);
  CHECK(seen[1] == seen[2]);
  // A mesh pair across nodes: carol's group answer reaches alice with the pairwise hash.
  carol->until_pong();
  alice->until_pong();
}

TEST_CASE(
    "cluster: kill -9 of the owner node, the survivors keep talking and a rejoiner gets the list") {
  cluster_of_nodes cluster;
  auto [alice, bob, carol] = room_on_three_nodes(cluster);
  ::kill(cluster.nodes[0]->pid(), SIGKILL);
  REQUIRE(within([&] { return !cluster.nodes[0]->alive(); }));
  // The takeover rejoins bob and carol; alice is gone with her node.
  CHECK(heard_after_takeover(*bob, *carol, "still here"));
  // alice reconnects on another node and rejoins: she sees the survivors, they see her.
  auto alice_again = cluster.peer(2, "alice");
  CHECK(join(*alice_again, "room") == abc);
}

TEST_CASE(
    "cluster: Redis stopped and restarted, same-node traffic flows, connects fail, then it heals") {
  cluster_of_nodes cluster(2);
  auto& a = *cluster.nodes[0];
  auto alice = cluster.peer(0, "alice");
  auto dave = cluster.peer(0, "dave");
  join(*alice, "local");
  join(*dave, "local");
  next_members(*alice);
  cluster.redis.stop();
  REQUIRE(within([&] { return a.call("GET", "/health-check").status == 503; }));
  CHECK(a.connect("erin").status == 503);
  // Same-node traffic keeps flowing.
  alice->send(chat("@local", "offline", 9));
  CHECK(str(next_matching(*dave,
                          [](const rapidjson::Document& doc) {
                            return has_subtype(doc, "chats_message");
                          })["data"],
            "text") == "offline");
  cluster.redis.start();
  REQUIRE(within([&] { return a.call("GET", "/health-check").status == 200; }));
  REQUIRE(within([&] { return cluster.nodes[1]->call("GET", "/health-check").status == 200; }));
  // Redis lost everything: the nodes are back once both have registered again.
  REQUIRE(within([&] { return cluster.redis.query({"ZCARD", "kwm:nodes"}).as_integer() == 2; }));
  // Healed: a new cross-node group works.
  auto bob = cluster.peer(1, "bob");
  auto erin = cluster.peer(0, "erin");
  join(*bob, "after");
  CHECK(join(*erin, "after") == std::vector<std::string>{"bob", "erin"});
  CHECK(a.log().find("redis connection down") != std::string::npos);
}

TEST_CASE("cluster: SIGTERM drains a node, its clients get goodbye and its group moves") {
  cluster_of_nodes cluster;
  auto [alice, bob, carol] = room_on_three_nodes(cluster);
  ::kill(cluster.nodes[0]->pid(), SIGTERM);
  CHECK(
      str(next_matching(
              *alice, [](const rapidjson::Document& doc) { return str(doc, "type") == "goodbye"; }),
          "type") == "goodbye");
  REQUIRE(within([&] { return !cluster.nodes[0]->alive(); }));
  CHECK(cluster.nodes[0]->exit_status() == 0);
  // bob and carol end up in one group without alice.
  CHECK(heard_after_takeover(*bob, *carol, "moved"));
}

TEST_CASE("cluster: admin tokens, their records and revocations are shared by every node") {
  temp_dir dir;
  dir.write("key", std::string(32, 'k'));
  const auto key = (dir.path / "key").string();
  cluster_of_nodes cluster(
      3, {"--admin-tokens-key", key, "--with-metrics", "--metrics-listen", "127.0.0.1:0"});
  const auto issued = cluster.nodes[0]->call("POST", "/api/kwm/v2/admin/auth/tokens",
                                             {{"Content-Type", "application/json"}},
                                             R"({"type":"Token","sub":"zoe"})");
  REQUIRE(issued.status == 200);
  const std::string token = parse_json(issued.body)["value"].GetString();
  const auto connect = [&](server_process& node) {
    return node.call("POST", "/api/kwm/v2/rtm/connect",
                     {{"Content-Type", "application/x-www-form-urlencoded"},
                      {"Authorization", "Token " + token}},
                     "user=zoe");
  };
  CHECK(connect(*cluster.nodes[1]).status == 200);
  const auto listed = cluster.nodes[2]->call("GET", "/api/kwm/v2/admin/auth/tokens");
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(R"("sub":"zoe")") != std::string::npos);
  CHECK(cluster.nodes[1]
            ->call("DELETE", "/api/kwm/v2/admin/auth/tokens",
                   {{"Content-Type", "application/json"}}, R"({"type":"Token","sub":"zoe"})")
            .status == 204);
  CHECK(connect(*cluster.nodes[2]).status == 403);
  // The cluster series of this node, with the cluster view.
  // The cluster view comes with the heartbeats (TTL/5).
  std::string metrics;
  CHECK(within([&] {
    metrics = http_call(cluster.nodes[0]->metrics_port(), "GET", "/metrics").body;
    return metrics.find("kwmserver_cluster_nodes_alive{node=\"n0\"} 3") != std::string::npos;
  }));
  CHECK(metrics.find("kwmserver_cluster_healthy{node=\"n0\"} 1") != std::string::npos);
}
