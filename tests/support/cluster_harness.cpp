#include "support/cluster_harness.hpp"

#include "protocol/random.hpp"
#include "support/eventually.hpp"

namespace kwm::test {

using namespace std::chrono_literals;

cluster::cluster_options fast_cluster_options(const std::string& url, const std::string& name) {
  cluster::cluster_options options;
  options.redis = fast_redis_options(url);
  options.node_name = name;
  options.timing.heartbeat = 100ms;
  options.timing.node_ttl = 2s;
  options.timing.connect_key_lifetime = 30s;
  options.timing.user_expiry = 60s;
  options.timing.lease_expiry = 60s;
  options.timing.admin_record_lifetime = 60s;
  return options;
}

ghost_node::ghost_node(boost::asio::io_context& io, const std::string& url, std::string node_id,
                       std::chrono::milliseconds ttl)
    : id(std::move(node_id)), client(io, fast_redis_options(url)) {
  const cluster::key_space keys;
  registry = cluster::make_redis_node_registry(client, keys, id, {{"name", "ghost"}}, ttl);
  users = cluster::make_redis_user_connections(client, keys, id, 60s);
  leases = cluster::make_redis_channel_leases(client, keys, id, 60s);
  client.start();
}

ghost_node::~ghost_node() {
  await_done([&](auto done) { client.stop(std::move(done)); });
}

void ghost_node::join() {
  auto joined = await_result<bool>([&](auto done) {
    registry->join({{"name", "ghost"}}, std::move(done));
  });
  if (!joined || !*joined) throw std::runtime_error("ghost could not join");
}

void ghost_node::beat() {
  auto beat = await_result<cluster::heartbeat_result>(
      [&](auto done) { registry->heartbeat(std::move(done)); });
  if (!beat) throw std::runtime_error("ghost heartbeat failed");
}

cluster_harness::cluster_harness(redis_server_options redis_options)
    : redis(std::move(redis_options)) {}

cluster_harness::~cluster_harness() {
  for (auto& node : nodes_)
    if (node) await_done([&](auto done) { node->stop(std::move(done)); });
  nodes_.clear();
}

cluster::cluster_node& cluster_harness::add_node(const std::string& name, const std::string& key) {
  return start_node(fast_cluster_options(redis.url(), name), key);
}

cluster::cluster_node& cluster_harness::start_node(cluster::cluster_options options,
                                                   const std::string& key) {
  nodes_.push_back(
      std::make_unique<cluster::cluster_node>(io.io, std::move(options), log.function()));
  auto& node = *nodes_.back();
  const std::string candidate =
      key.empty() ? protocol::random_bytes(protocol::hmac_key_bytes) : key;
  auto agreed =
      await_result<std::string>([&](auto done) { node.start(candidate, std::move(done)); });
  if (!agreed) throw std::runtime_error("node did not start: " + agreed.failed().detail);
  if (agreed_key.empty()) agreed_key = *agreed;
  if (!eventually([&] { return node.healthy(); }))
    throw std::runtime_error("node did not become healthy");
  return node;
}

std::unique_ptr<ghost_node> cluster_harness::add_ghost(const std::string& id) {
  auto ghost = std::make_unique<ghost_node>(io.io, redis.url(), id);
  if (!eventually([&] { return ghost->client.is_up(); }))
    throw std::runtime_error("ghost not connected");
  ghost->join();
  return ghost;
}

void cluster_harness::stop_node(cluster::cluster_node& node) {
  for (auto& owned : nodes_) {
    if (owned.get() != &node) continue;
    await_done([&](auto done) { owned->stop(std::move(done)); });
    owned.reset();
  }
}

}  // namespace kwm::test
