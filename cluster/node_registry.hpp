#pragma once
// The nodes of the cluster: which are alive, kept by heartbeats. A node is alive while its
// deadline (Redis time + TTL, refreshed by every heartbeat) lies in the future; a node
// killed with -9 is dead one TTL after its last heartbeat, and everything tied to it
// (connection counts, presence, channel leases) stops counting at that moment. A node that
// shuts down cleanly leaves at once.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

using node_info = std::vector<std::pair<std::string, std::string>>;

struct heartbeat_result {
  bool was_alive = false;          // false: this node had expired (outage) or just joined
  std::vector<std::string> alive;  // every alive node, this one included
};

class node_registry {
 public:
  virtual ~node_registry() = default;
  // Registers this node with what it says about itself; false when an alive node already
  // has this id (two processes must not share one).
  virtual void join(node_info info, callback<bool> finished) = 0;
  // Extends this node's life by the TTL (rewriting its info if it had expired) and returns
  // the alive nodes.
  virtual void heartbeat(callback<heartbeat_result> finished) = 0;
  // Removes this node at once (clean shutdown): others take over without waiting.
  virtual void leave(callback<done> finished) = 0;
  virtual void alive(callback<std::vector<std::string>> finished) = 0;
  virtual void info(std::string node, callback<node_info> finished) = 0;
};

std::unique_ptr<node_registry> make_redis_node_registry(redis_client& client, key_space keys,
                                                        std::string node, node_info info,
                                                        std::chrono::milliseconds ttl);

}  // namespace kwm::cluster
