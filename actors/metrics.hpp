#pragma once
// The counters behind the kwmserver_* Prometheus series (spec §7.6). Actors bump them with
// relaxed atomics (no messages, no locks); the metrics endpoint reads them at scrape time
// and derives the *_current gauges from them.
#include <atomic>
#include <cstdint>
#include <memory>

namespace kwm::actors {

struct server_metrics {
  using counter = std::atomic<uint64_t>;
  using gauge = std::atomic<int64_t>;

  counter channels_created_total{0};
  counter channels_cleanedup_total{0};
  counter channels_connections_added_total{0};
  counter channels_connections_removed_total{0};
  counter connections_connected_total{0};
  counter connections_disconnected_total{0};
  counter distinct_users_connected_total{0};
  counter distinct_users_cleanedup_total{0};
  counter http_connect_success_total{0};
  counter http_turn_success_total{0};
  counter http_websocket_success_total{0};
  counter guest_http_logon_success_total{0};
  counter rate_limit_rejections_total{0};  // ours (the spec allows additions)

  gauge group_channels_current{0};
  gauge group_channel_connections_current{0};

  static void bump(counter& c) { c.fetch_add(1, std::memory_order_relaxed); }
  static void add(gauge& g, int64_t delta) { g.fetch_add(delta, std::memory_order_relaxed); }
  static uint64_t read(const counter& c) { return c.load(std::memory_order_relaxed); }
  static int64_t read(const gauge& g) { return g.load(std::memory_order_relaxed); }
};

using metrics_pointer = std::shared_ptr<server_metrics>;

}  // namespace kwm::actors
