#pragma once
// One node of a kwmserverd cluster (D23, docs/cluster.md): the Redis client, every cluster
// service, the node's heartbeat and its health, behind one door. The application creates it
// only with --cluster-redis; without the flag none of this exists.
//
// Lifetime: start(), later stop() and wait for its callback, then destroy the node, then
// the io_context. Everything runs on the Redis client's strand; the accessors for state
// (healthy, alive_nodes) may be called from any thread.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/admin_token_store.hpp"
#include "cluster/channel_hash_key.hpp"
#include "cluster/channel_leases.hpp"
#include "cluster/connect_keys.hpp"
#include "cluster/key_space.hpp"
#include "cluster/log.hpp"
#include "cluster/mcu_transactions.hpp"
#include "cluster/message_bus.hpp"
#include "cluster/node_registry.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/user_connections.hpp"

namespace kwm::cluster {

struct cluster_timing {
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds node_ttl{5000};  // dead this long after the last heartbeat
  std::chrono::milliseconds connect_key_lifetime{30000};
  std::chrono::milliseconds user_expiry{120000};   // garbage collection of user hashes
  std::chrono::milliseconds lease_expiry{600000};  // garbage collection of leases and members
  std::chrono::milliseconds admin_record_lifetime{60000};
  std::chrono::milliseconds mcu_transaction_lifetime{30000};  // as on one node (§3.17)
};

struct cluster_options {
  redis_client_options redis;  // endpoint from --cluster-redis, timeouts
  std::string node_name;       // what operators see (logs, metrics); default: the host name
  std::string key_prefix = "kwm:";
  cluster_timing timing;
};

// For the metrics endpoint (relaxed loads).
struct cluster_metrics {
  std::atomic<int64_t> nodes_alive{0};
  std::atomic<int64_t> healthy{0};
  std::atomic<uint64_t> heartbeats{0};
  std::atomic<uint64_t> heartbeat_failures{0};
  std::atomic<uint64_t> rejoins{0};  // this node had expired (Redis outage or data loss)
};

// Node names: 1–64 of [A-Za-z0-9._-], so they read well in logs and Redis keys.
bool valid_node_name(std::string_view name);
// The node's id in the cluster: its name plus a random suffix, unique per process life, so
// that a restarted node never inherits what its previous life left in Redis.
std::string make_node_id(std::string_view name);

class cluster_node {
 public:
  cluster_node(boost::asio::io_context& io, cluster_options options, log_function log = {});
  ~cluster_node();
  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  // Connects, registers the node and agrees on the channel-hash key (proposing
  // `hash_key_candidate`). Keeps trying while Redis is unreachable; `ready` runs once, with
  // the cluster's key, or with a failure when the node id is taken.
  void start(std::string hash_key_candidate, callback<std::string> ready);
  // Leaves the registry (others take over at once), fails pending requests, stops the
  // client, then calls `stopped`.
  void stop(std::function<void()> stopped);

  const std::string& id() const { return id_; }
  const std::string& name() const { return options_.node_name; }
  // Redis reachable and this node's registration current.
  bool healthy() const { return metrics_.healthy.load(std::memory_order_relaxed) == 1; }
  std::vector<std::string> alive_nodes() const;

  // Observers, registered before start(); they run on the client's strand.
  void on_health_change(std::function<void(bool healthy)> observer);
  void on_nodes_change(std::function<void(const std::vector<std::string>& alive)> observer);
  // This node had expired (an outage longer than the node TTL, or Redis lost its data):
  // resync user counts and confirm leases.
  void on_rejoin(std::function<void()> observer);
  // Redis holds another channel-hash key than this node uses (Redis lost the key and a new
  // node wrote its own first).
  void on_hash_key_change(std::function<void(const std::string& key)> observer);

  redis_client& redis() { return *client_; }
  connect_key_store& connect_keys() { return *connect_keys_; }
  user_connections& users() { return *users_; }
  node_registry& registry() { return *registry_; }
  channel_leases& leases() { return *leases_; }
  channel_hash_key_store& hash_key() { return *hash_key_; }
  admin_token_store& admin_tokens() { return *admin_tokens_; }
  message_bus& bus() { return *bus_; }
  mcu_transaction_store& mcu_transactions() { return *mcu_transactions_; }
  // The MCU's control sockets per node (counted as one user's connections).
  user_connections& mcu_controls() { return *mcu_controls_; }
  const cluster_timing& timing() const { return options_.timing; }
  const key_space& keys() const { return keys_; }
  const cluster_metrics& metrics() const { return metrics_; }

  struct heartbeat_loop;

 private:
  cluster_options options_;
  log_function log_;
  std::string id_;
  key_space keys_;
  cluster_metrics metrics_;
  std::unique_ptr<redis_client> client_;
  std::unique_ptr<connect_key_store> connect_keys_;
  std::unique_ptr<user_connections> users_;
  std::unique_ptr<node_registry> registry_;
  std::unique_ptr<channel_leases> leases_;
  std::unique_ptr<channel_hash_key_store> hash_key_;
  std::unique_ptr<admin_token_store> admin_tokens_;
  std::unique_ptr<message_bus> bus_;
  std::unique_ptr<mcu_transaction_store> mcu_transactions_;
  std::unique_ptr<user_connections> mcu_controls_;
  std::shared_ptr<heartbeat_loop> loop_;
  mutable std::mutex alive_mutex_;
  std::vector<std::string> alive_;
};

}  // namespace kwm::cluster
