#pragma once
// Everything `kwmserverd serve` can be told, after the command line has been read.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "actors/admin_tokens.hpp"
#include "actors/channel.hpp"
#include "actors/guest_api.hpp"
#include "actors/oidc_provider.hpp"
#include "actors/rtm_api.hpp"
#include "actors/token_issuer.hpp"
#include "cluster/cluster_node.hpp"
#include "net/server_config.hpp"
#include "protocol/search_pattern.hpp"

namespace kwm::app {

// --pipeline-forced-regexp's default: every group whose id starts with `conference/`.
inline constexpr const char* default_pipeline_regexp = "@conference/.*";
inline std::optional<protocol::search_pattern> default_pipeline_pattern() {
  std::string error;
  return protocol::search_pattern::compile(default_pipeline_regexp, error);
}

struct runtime_options {
  net::server_config server;
  std::size_t io_threads = 0;     // 0 = one per core
  std::size_t actor_threads = 0;  // CAF workers of the stealing/sharing policies; 0 = one per core
  // "io": actors run on the io threads (app/io_scheduler); "stealing"/"sharing": CAF's own
  // worker pools (measured against each other in docs/performance.md).
  std::string scheduler_policy = "io";
  std::size_t actor_max_throughput = 64;  // messages per actor turn (D20 fairness)
  bool enable_rtm_api = true;
  actors::rtm_settings rtm;
  actors::token_issuer_settings connect_keys;
  actors::channel_settings channels;
  std::optional<actors::admin_token_settings> admin_tokens;  // set when a key is configured
  std::optional<actors::oidc_settings> oidc;                 // set with --iss (fetch is filled in)
  bool enable_guest_api = false;
  actors::guest_settings guests;
  // --enable-mcu-api: MCU sockets and pipelines (spec §3.17). Without a (valid) pattern the
  // MCU sockets work but no channel is pipelined.
  struct mcu_options {
    bool enabled = false;
    std::optional<protocol::search_pattern> forced = default_pipeline_pattern();
    std::chrono::milliseconds reattach_delay{3'000};
    std::chrono::milliseconds watchdog{10'000};
    std::chrono::milliseconds transaction_lifetime{30'000};
  } mcu;
  std::optional<net::server_config> metrics_listener;  // --with-metrics: GET /metrics there
  std::optional<std::string> www_root;                 // --enable-www: static files at /
  std::optional<std::string> docs_root;                // --enable-docs: static files at /docs/
  // --cluster-redis: this process is one node of a cluster (D23, docs/cluster.md).
  std::optional<cluster::cluster_options> cluster;
  // How long a graceful shutdown waits for connections to finish closing.
  std::chrono::milliseconds drain_timeout{12'000};
};

}  // namespace kwm::app
