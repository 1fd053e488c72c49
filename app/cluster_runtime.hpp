#pragma once
// Cluster mode's part of the runtime (--cluster-redis, docs/cluster.md): the Redis client's
// own thread and io_context, the cluster node, and the link the cluster actors share.
// Without the flag the runtime never creates one.
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/cluster_link.hpp"
#include "cluster/cluster_node.hpp"
#include "protocol/metrics_text.hpp"

namespace kwm::app {

class cluster_runtime {
 public:
  explicit cluster_runtime(cluster::cluster_options options);
  // stop() must have run (the runtime calls it after every actor has ended).
  ~cluster_runtime();
  cluster_runtime(const cluster_runtime&) = delete;
  cluster_runtime& operator=(const cluster_runtime&) = delete;

  // Starts the node and blocks until it joined the cluster; returns the channel-hash key
  // every node uses (the cluster's, or `candidate` when this node is the first). Keeps
  // waiting while Redis is unreachable; throws when the node cannot join at all.
  std::string start(const std::string& candidate);
  // Leaves the registry (others take this node's channels over at once), stops the client
  // and its thread. Idempotent.
  void stop();

  cluster::cluster_node& node() { return *node_; }
  const actors::cluster_link_pointer& link() const { return link_; }
  // The kwmserver_cluster_* series of this node (docs/cluster.md, "Metrics").
  void add_metrics(std::vector<protocol::metric_family>& out) const;

 private:
  boost::asio::io_context io_;
  std::unique_ptr<cluster::cluster_node> node_;
  actors::cluster_link_pointer link_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace kwm::app
