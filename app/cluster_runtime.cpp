#include "app/cluster_runtime.hpp"

#include <future>
#include <stdexcept>
#include <vector>

#include "actors/event_log.hpp"

namespace kwm::app {
namespace {

// The cluster code's log lines go to the server's log; its messages carry at most three
// fields (node, redis, reason), the log takes a fixed list.
void log_cluster(cluster::log_level level, std::string_view message,
                 std::span<const cluster::log_field> fields) {
  static constexpr spdlog::level::level_enum levels[] = {spdlog::level::debug, spdlog::level::info,
                                                         spdlog::level::warn, spdlog::level::err};
  const auto severity = levels[static_cast<int>(level)];
  if (!log::enabled(severity)) return;
  const auto at = [&](std::size_t i) { return i < fields.size() ? fields[i] : log::field{}; };
  switch (fields.size()) {
    case 0:
      return log::event(severity, message);
    case 1:
      return log::event(severity, message, {at(0)});
    case 2:
      return log::event(severity, message, {at(0), at(1)});
    default:
      return log::event(severity, message, {at(0), at(1), at(2)});
  }
}

}  // namespace

cluster_runtime::cluster_runtime(cluster::cluster_options options)
    : node_(std::make_unique<cluster::cluster_node>(io_, std::move(options), log_cluster)),
      link_(std::make_shared<actors::cluster_link>(*node_)) {}

cluster_runtime::~cluster_runtime() {
  stop();
}

std::string cluster_runtime::start(const std::string& candidate) {
  auto joined = std::make_shared<std::promise<cluster::result<std::string>>>();
  auto future = joined->get_future();
  node_->start(candidate,
               [joined](cluster::result<std::string> key) { joined->set_value(std::move(key)); });
  thread_ = std::thread([this] {
    auto work = boost::asio::make_work_guard(io_);
    io_.run();
  });
  log::info("cluster: joining", {{"node", node_->id()}});
  auto key = future.get();
  if (!key) throw std::runtime_error("cluster node could not join: " + key.failed().detail);
  return *key;
}

void cluster_runtime::stop() {
  if (stopped_ || !thread_.joinable()) return;
  stopped_ = true;
  std::promise<void> done;
  node_->stop([&done] { done.set_value(); });
  done.get_future().wait();
  io_.stop();
  thread_.join();
}

void cluster_runtime::add_metrics(std::vector<protocol::metric_family>& out) const {
  const auto series = [&](const std::string& name, const char* type, const std::string& help,
                          double value) {
    out.push_back({"kwmserver_cluster_" + name, help, type, {{{{"node", node_->name()}}, value}}});
  };
  const auto relaxed = [](const auto& value) {
    return static_cast<double>(value.load(std::memory_order_relaxed));
  };
  const auto& metrics = node_->metrics();
  auto& redis = node_->redis();
  const auto& client = redis.stats();
  const auto& bus = node_->bus().stats();
  series("healthy", "gauge", "1 while Redis is reachable and this node's registration is current",
         relaxed(metrics.healthy));
  series("nodes_alive", "gauge", "Alive nodes as this node sees them",
         relaxed(metrics.nodes_alive));
  series("channels_owned", "gauge", "Channels whose owner is this node",
         relaxed(link_->channels_owned));
  series("remote_members", "gauge",
         "Connections of other nodes that are members of channels owned here",
         relaxed(link_->remote_members));
  series("channel_handovers_total", "counter",
         "Owned channels handed to the node that took their lease over", relaxed(link_->handovers));
  series("stale_frames_dropped_total", "counter",
         "Frames from a channel's former owner, dropped (fencing)", relaxed(link_->stale_frames));
  series("redis_up", "gauge", "1 while both Redis connections are ready", redis.is_up() ? 1 : 0);
  const auto round_trip = client.round_trip_us.load(std::memory_order_relaxed);
  series("redis_round_trip_seconds", "gauge", "The last PING round trip to Redis",
         round_trip < 0 ? 0 : static_cast<double>(round_trip) / 1e6);
  series("redis_round_trip_seconds_sum", "counter", "Sum of the PING round trips",
         relaxed(client.round_trip_sum_us) / 1e6);
  series("redis_round_trip_seconds_count", "counter", "Number of PING round trips",
         relaxed(client.round_trip_count));
  series("redis_commands_total", "counter", "Commands written to Redis", relaxed(client.commands));
  series("redis_command_failures_total", "counter", "Commands that ended without a reply",
         relaxed(client.failures));
  series("redis_pending", "gauge", "Commands in flight or queued", relaxed(client.pending));
  series("bus_messages_sent_total", "counter", "Messages published to other nodes",
         relaxed(bus.sent));
  series("bus_messages_received_total", "counter", "Messages received from other nodes",
         relaxed(bus.received));
  series("bus_bytes_sent_total", "counter", "Bytes published to other nodes",
         relaxed(bus.sent_bytes));
  series("bus_bytes_received_total", "counter", "Bytes received from other nodes",
         relaxed(bus.received_bytes));
  series("bus_refused_total", "counter", "Undecodable messages or of another wire version",
         relaxed(bus.refused));
  series("bus_undeliverable_total", "counter", "Messages to nodes that no longer listen",
         relaxed(bus.undeliverable));
  series("heartbeat_failures_total", "counter", "Heartbeats that failed",
         relaxed(metrics.heartbeat_failures));
  series("rejoins_total", "counter", "Times this node had expired and rejoined",
         relaxed(metrics.rejoins));
}

}  // namespace kwm::app
