#include "cluster/cluster_node.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <ctime>

#include "cluster/detail/client_strand.hpp"
#include "protocol/admin_api.hpp"
#include "protocol/random.hpp"

namespace kwm::cluster {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::size_t max_node_name = 64;
constexpr std::size_t node_suffix_bytes = 6;  // 8 characters

}  // namespace

bool valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > max_node_name) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string make_node_id(std::string_view name) {
  return std::string(name) + "-" + protocol::random_string(node_suffix_bytes);
}

// The node's life on the client's strand: join, agree on the hash key, heartbeat, health.
struct cluster_node::heartbeat_loop : std::enable_shared_from_this<cluster_node::heartbeat_loop> {
  heartbeat_loop(cluster_node& owner) : node(owner), timer(detail::strand_of(*owner.client_)) {}

  cluster_node& node;
  boost::asio::steady_timer timer;
  std::string key;
  callback<std::string> ready;
  bool registered = false;
  bool key_agreed = false;
  bool stopping = false;
  bool busy = false;  // a join, ensure or heartbeat is on its way
  clock_type::time_point last_beat{};
  bool reported = false;
  bool reported_healthy = false;
  std::vector<std::function<void(bool)>> health_observers;
  std::vector<std::function<void(const std::vector<std::string>&)>> nodes_observers;
  std::vector<std::function<void()>> rejoin_observers;
  std::vector<std::function<void(const std::string&)>> key_observers;

  void schedule() {
    timer.expires_after(node.options_.timing.heartbeat);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopping) return;
      self->tick();
      self->schedule();
    });
  }

  void tick() {
    evaluate_health();
    if (busy) return;
    if (!registered) return join();
    if (!key_agreed) return agree_on_key(false);
    beat();
  }

  void join() {
    busy = true;
    node.registry_->join(info(), [self = shared_from_this()](result<bool> joined) {
      self->busy = false;
      if (self->stopping) return;
      if (!joined) {
        self->node.metrics_.heartbeat_failures.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (!*joined)
        return self->finish_start(
            error{failure::rejected, "node id " + self->node.id_ + " is in use"});
      self->registered = true;
      self->last_beat = clock_type::now();
      self->agree_on_key(false);
    });
  }

  void agree_on_key(bool after_rejoin) {
    busy = true;
    node.hash_key_->ensure(key, [self = shared_from_this(),
                                 after_rejoin](result<std::string> agreed) {
      self->busy = false;
      if (self->stopping || !agreed) return;  // tried again on the next tick
      const bool changed = *agreed != self->key;
      self->key = *agreed;
      if (!self->key_agreed) {
        self->key_agreed = true;
        return self->evaluate_health();  // starts the node once it is healthy
      }
      if (after_rejoin && changed) {
        emit(self->node.log_, log_level::error, "cluster channel-hash key differs from this node's",
             {{"node", self->node.id_}});
        for (const auto& observer : self->key_observers) observer(self->key);
      }
    });
  }

  void beat() {
    busy = true;
    node.registry_->heartbeat([self = shared_from_this()](result<heartbeat_result> beat) {
      self->busy = false;
      if (self->stopping) return;
      auto& metrics = self->node.metrics_;
      if (!beat) {
        metrics.heartbeat_failures.fetch_add(1, std::memory_order_relaxed);
        self->evaluate_health();
        return;
      }
      metrics.heartbeats.fetch_add(1, std::memory_order_relaxed);
      self->last_beat = clock_type::now();
      self->update_nodes(std::move(beat->alive));
      self->evaluate_health();
      if (!beat->was_alive) {
        metrics.rejoins.fetch_add(1, std::memory_order_relaxed);
        emit(self->node.log_, log_level::warn, "cluster node had expired and rejoined",
             {{"node", self->node.id_}});
        for (const auto& observer : self->rejoin_observers) observer();
        self->agree_on_key(true);
      }
    });
  }

  void update_nodes(std::vector<std::string> alive) {
    std::sort(alive.begin(), alive.end());
    {
      std::lock_guard lock(node.alive_mutex_);
      if (alive == node.alive_) return;
      node.alive_ = alive;
    }
    node.metrics_.nodes_alive.store(static_cast<int64_t>(alive.size()), std::memory_order_relaxed);
    for (const auto& observer : nodes_observers) observer(alive);
  }

  void evaluate_health() {
    const bool healthy = !stopping && key_agreed && node.client_->is_up() &&
                         clock_type::now() - last_beat < node.options_.timing.node_ttl;
    node.metrics_.healthy.store(healthy ? 1 : 0, std::memory_order_relaxed);
    // Started once healthy, not at the key alone: until the inbox subscription is confirmed
    // a frame another node publishes here is lost, and connects would be refused with 503.
    if (healthy && ready) {
      emit(node.log_, log_level::info, "cluster node joined",
           {{"node", node.id_}, {"redis", node.options_.redis.endpoint.describe()}});
      finish_start(key);
    }
    if (reported && healthy == reported_healthy) return;
    if (!reported && !healthy) return;  // nothing to report before the first success
    reported = true;
    reported_healthy = healthy;
    if (!stopping)
      emit(node.log_, healthy ? log_level::info : log_level::warn,
           healthy ? "cluster node healthy" : "cluster node unhealthy", {{"node", node.id_}});
    for (const auto& observer : health_observers) observer(healthy);
  }

  void finish_start(result<std::string> outcome) {
    if (!ready) return;
    auto call = std::move(ready);
    ready = nullptr;
    call(std::move(outcome));
  }

  node_info info() const {
    return {{"name", node.options_.node_name}, {"started", std::to_string(std::time(nullptr))}};
  }
};

cluster_node::cluster_node(boost::asio::io_context& io, cluster_options options, log_function log)
    : options_(std::move(options)),
      log_(std::move(log)),
      id_(make_node_id(options_.node_name)),
      keys_(options_.key_prefix) {
  auto client_options = options_.redis;
  client_options.client_name = "kwmserverd-" + options_.node_name;
  client_options.probe_channel = keys_.probe(id_);
  client_ = std::make_unique<redis_client>(io, std::move(client_options), log_);
  const auto& timing = options_.timing;
  connect_keys_ = make_redis_connect_keys(*client_, keys_, timing.connect_key_lifetime);
  users_ = make_redis_user_connections(*client_, keys_, id_, timing.user_expiry);
  registry_ = make_redis_node_registry(*client_, keys_, id_, {}, timing.node_ttl);
  leases_ = make_redis_channel_leases(*client_, keys_, id_, timing.lease_expiry);
  hash_key_ = make_redis_channel_hash_key(*client_, keys_);
  admin_tokens_ = make_redis_admin_tokens(*client_, keys_, timing.admin_record_lifetime,
                                          protocol::admin_list_limit);
  bus_ = make_redis_message_bus(*client_, keys_, id_);
  mcu_transactions_ =
      make_redis_mcu_transactions(*client_, keys_, id_, timing.mcu_transaction_lifetime);
  mcu_controls_ =
      make_redis_user_connections(*client_, keys_.mcu_controls(), id_, timing.user_expiry);
  loop_ = std::make_shared<heartbeat_loop>(*this);
}

cluster_node::~cluster_node() = default;

void cluster_node::start(std::string hash_key_candidate, callback<std::string> ready) {
  client_->post([loop = loop_, candidate = std::move(hash_key_candidate),
                 ready = std::move(ready)]() mutable {
    loop->key = std::move(candidate);
    loop->ready = std::move(ready);
    loop->node.client_->on_state_change([loop](bool) { loop->evaluate_health(); });
    loop->node.client_->start();
    loop->tick();
    loop->schedule();
  });
}

void cluster_node::stop(std::function<void()> stopped) {
  client_->post([loop = loop_, stopped = std::move(stopped)]() mutable {
    cluster_node& node = loop->node;
    loop->stopping = true;
    loop->timer.cancel();
    loop->evaluate_health();
    loop->finish_start(error{failure::stopped, "node stopped"});
    node.bus_->stop();
    auto stop_client = [loop, stopped = std::move(stopped)](auto&&...) {
      loop->node.client_->stop(stopped);
    };
    if (loop->registered)
      node.registry_->leave(std::move(stop_client));
    else
      stop_client();
  });
}

std::vector<std::string> cluster_node::alive_nodes() const {
  std::lock_guard lock(alive_mutex_);
  return alive_;
}

void cluster_node::on_health_change(std::function<void(bool)> observer) {
  client_->post([loop = loop_, observer = std::move(observer)]() mutable {
    loop->health_observers.push_back(std::move(observer));
  });
}

void cluster_node::on_nodes_change(std::function<void(const std::vector<std::string>&)> observer) {
  client_->post([loop = loop_, observer = std::move(observer)]() mutable {
    loop->nodes_observers.push_back(std::move(observer));
  });
}

void cluster_node::on_rejoin(std::function<void()> observer) {
  client_->post([loop = loop_, observer = std::move(observer)]() mutable {
    loop->rejoin_observers.push_back(std::move(observer));
  });
}

void cluster_node::on_hash_key_change(std::function<void(const std::string&)> observer) {
  client_->post([loop = loop_, observer = std::move(observer)]() mutable {
    loop->key_observers.push_back(std::move(observer));
  });
}

}  // namespace kwm::cluster
