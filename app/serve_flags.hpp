#pragma once
// Every `kwmserverd serve` flag (spec §7.2), each with its KWMSERVERD_* environment variable,
// and their translation into runtime_options.
#include <optional>
#include <string>
#include <vector>

#include "app/runtime_options.hpp"

namespace CLI {
class App;
}

namespace kwm::app {

struct serve_flags {
  std::string config_file;
  bool dry_run = false;  // check everything, then exit without serving
  std::string listen = "127.0.0.1:8778";
  std::string log_level = "info";
  bool log_timestamp = true;
  std::string log_format = "text";
  bool enable_rtm_api = true;
  bool enable_mcu_api = false;
  std::string pipeline_forced_regexp = default_pipeline_regexp;
  bool with_metrics = false;
  std::string metrics_listen = "127.0.0.1:6778";
  std::size_t metrics_max_connections = 16;
  bool enable_www = false;
  std::string www_root = "./www";
  bool enable_docs = false;
  std::string docs_root = "./docs";
  std::size_t io_threads = 0;
  std::size_t actor_threads = 0;
  std::string scheduler_policy = "io";  // measured: docs/performance.md
  runtime_options runtime;
  std::vector<std::string> trusted_networks;
  std::vector<std::string> trusted_proxies;
  unsigned http_read_header_timeout = 10;
  unsigned http_read_timeout = 30;
  unsigned http_idle_timeout = 60;
  unsigned ws_message_timeout = 30;
  std::string admin_tokens_key;
  std::size_t admin_max_revocations = 100000;
  bool enable_auth_basic = false;
  std::string auth_basic_values;
  bool insecure_auth = false;
  std::vector<std::string> turn_uris;
  std::string turn_shared_secret;
  std::string issuer;
  bool insecure = false;
  std::vector<std::string> required_scopes;
  bool enable_guest_api = false;
  bool allow_guest_only_channels = false;
  std::string registration_conf;
  std::string public_guest_access_regexp;
  std::string turn_service_url;
  std::string turn_service_credentials;
  std::string tls_cert;  // D24: both or neither
  std::string tls_key;
  std::vector<std::string> unsupported;  // original-only flags that were given
  // Cluster (D23, docs/cluster.md).
  std::string cluster_redis;
  std::string cluster_node_name;  // default: the host name
  std::string cluster_key_prefix = "kwm:";
  uint32_t cluster_node_ttl = 5;  // seconds
};

// Usage errors (bad values) exit with 2; a configuration that cannot work with 1.
struct startup_error {
  std::string message;
  int exit_code = 1;
};

void add_serve_flags(CLI::App& serve, serve_flags& flags);

// Fills flags.runtime from the parsed flags, reading key and secret files. A configuration
// that cannot work is an error, never a silent fallback to anonymous mode (D1).
std::optional<startup_error> resolve_serve_flags(serve_flags& flags);

}  // namespace kwm::app
