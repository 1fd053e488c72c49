#pragma once
// Users' live RTM connections across the cluster: the per-user cap (D17) counted over all
// nodes, and presence (which nodes hold a user's connections, spec §3.10–§3.13 across
// nodes).
//
// One Redis hash per user maps node → that node's number of the user's connections. A
// count is believed only while its node is alive in the registry (cluster/node_registry),
// so the counts of a node that died vanish with its heartbeat (seconds), and the scripts
// delete them when they meet them. The hash's own expiry (refreshed by resync) only
// collects users nobody touches any more. After a Redis outage or restart a node resyncs
// its exact counts, which heals whatever was lost.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

struct admission {
  bool admitted = false;
  uint64_t connections =
      0;  // the user's live connections in the cluster (with this one if admitted)
};

struct node_connections {
  std::string node;
  uint64_t connections = 0;
};

class user_connections {
 public:
  virtual ~user_connections() = default;
  // Counts one more connection of `user` on this node unless the user already has `limit`
  // live connections in the cluster (0 = no limit). Atomic across nodes.
  virtual void admit(std::string user, uint32_t limit, callback<admission> finished) = 0;
  // One connection of `user` on this node ended.
  virtual void release(std::string user, callback<done> finished) = 0;
  // The alive nodes holding connections of `user` (empty: offline).
  virtual void locate(std::string user, callback<std::vector<node_connections>> finished) = 0;
  // Writes this node's exact counts (0 removes) and refreshes the keys' expiry.
  virtual void resync(std::vector<std::pair<std::string, uint64_t>> counts,
                      callback<done> finished) = 0;
};

std::unique_ptr<user_connections> make_redis_user_connections(redis_client& client, key_space keys,
                                                              std::string node,
                                                              std::chrono::milliseconds expiry);

}  // namespace kwm::cluster
