#pragma once
// Several cluster nodes in one test process against one redis-server started by the test
// (cluster/cluster_node), with short timings so that expiry and failover happen within
// seconds; plus "ghost" nodes: bare services for a node id that heartbeats only when told
// to and never leaves, which is what kill -9 looks like to the others. Tests that need a
// ghost alive call beat() first; tests that wait for its death wait for the condition.
#include <memory>
#include <string>
#include <vector>

#include "cluster/channel_leases.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/node_registry.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/user_connections.hpp"
#include "support/cluster_support.hpp"
#include "support/log_recorder.hpp"
#include "support/redis_server.hpp"

namespace kwm::test {

cluster::cluster_options fast_cluster_options(const std::string& url, const std::string& name);

struct ghost_node {
  ghost_node(boost::asio::io_context& io, const std::string& url, std::string id,
             std::chrono::milliseconds ttl = std::chrono::seconds(2));
  ~ghost_node();
  // Registers once: alive for one TTL, then dead unless beat() is called.
  void join();
  void beat();

  std::string id;
  cluster::redis_client client;
  std::unique_ptr<cluster::node_registry> registry;
  std::unique_ptr<cluster::user_connections> users;
  std::unique_ptr<cluster::channel_leases> leases;
};

class cluster_harness {
 public:
  explicit cluster_harness(redis_server_options redis_options = {});
  ~cluster_harness();

  // A started node (waits until it joined); `key` is its channel-hash key proposal.
  cluster::cluster_node& add_node(const std::string& name, const std::string& key = "");
  // As add_node, with options changed by `adjust` first.
  template <class Adjust>
  cluster::cluster_node& add_node_with(const std::string& name, Adjust adjust) {
    auto options = fast_cluster_options(redis.url(), name);
    adjust(options);
    return start_node(std::move(options), "");
  }
  std::unique_ptr<ghost_node> add_ghost(const std::string& id);
  void stop_node(cluster::cluster_node& node);

  redis_server redis;
  io_thread io;
  log_recorder log;
  std::string agreed_key;  // what the first node's start returned

 private:
  cluster::cluster_node& start_node(cluster::cluster_options options, const std::string& key);
  std::vector<std::unique_ptr<cluster::cluster_node>> nodes_;
};

}  // namespace kwm::test
