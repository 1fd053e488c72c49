#include "app/serve_flags.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <tuple>
#include <sstream>
#include <variant>

#include "actors/event_log.hpp"
#include "app/limit_checks.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/redis_url.hpp"
#include "app/listen_address.hpp"
#include "app/logging.hpp"
#include "app/registration.hpp"
#include "app/tls_reload.hpp"
#include "net/tls_context.hpp"
#include "protocol/admin_token.hpp"
#include "protocol/chats_rules.hpp"

namespace kwm::app {
namespace {

std::string env_name(const std::string& flag) {
  std::string name = "KWMSERVERD_";
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return content.str();
}

// Auth backends and TURN from their files; a configuration that cannot work is a startup
// error, never a silent fallback to anonymous mode (D1). Returns an error message.
std::optional<std::string> configure_auth(serve_flags& flags) {
  auto& rt = flags.runtime;
  if (!flags.admin_tokens_key.empty()) {
    auto key = read_file(flags.admin_tokens_key);
    if (!key) return "failed to read admin tokens key file " + flags.admin_tokens_key;
    if (key->size() < kwm::protocol::admin_token_min_key_bytes)
      return "admin tokens key file " + flags.admin_tokens_key + " must hold at least 32 bytes";
    rt.admin_tokens.emplace();
    rt.admin_tokens->key = std::move(*key);
    rt.admin_tokens->max_revocations = flags.admin_max_revocations;
  }
  if (flags.enable_auth_basic) {
    if (flags.auth_basic_values.empty()) return "--enable-auth-basic requires --auth-basic-values";
    auto values = read_file(flags.auth_basic_values);
    if (!values) return "failed to read auth basic values file " + flags.auth_basic_values;
    rt.rtm.auth.basic = kwm::protocol::basic_values::parse(*values);
  }
  rt.rtm.auth.insecure_auth = flags.insecure_auth;
  if (!flags.issuer.empty()) {
    if (flags.issuer.rfind("https://", 0) != 0)
      return "OIDC provider initialization error: issuer " + flags.issuer + " is not an https URL";
    rt.oidc.emplace();
    auto& policy = rt.oidc->policy;
    policy.issuer = flags.issuer;
    while (!policy.issuer.empty() && policy.issuer.back() == '/') policy.issuer.pop_back();
    policy.required_scopes = flags.required_scopes;
    policy.guests_enabled = flags.enable_guest_api;
    policy.guests_may_create = flags.allow_guest_only_channels;
    rt.oidc->insecure = flags.insecure;
  }
  rt.enable_guest_api = flags.enable_guest_api;
  if (!flags.registration_conf.empty()) {
    auto loaded = load_registration(flags.registration_conf);
    if (auto* error = std::get_if<std::string>(&loaded)) return *error;
    rt.guests.clients = std::get<std::vector<kwm::protocol::guest_client>>(std::move(loaded));
  }
  if (!flags.public_guest_access_regexp.empty()) {
    std::string error;
    rt.guests.public_paths = protocol::search_pattern::compile(flags.public_guest_access_regexp, error);
    if (!rt.guests.public_paths) return "invalid --public-guest-access-regexp: " + error;
  }
  if (!flags.turn_shared_secret.empty()) {
    auto secret = read_file(flags.turn_shared_secret);
    if (!secret) return "failed to read TURN shared secret file " + flags.turn_shared_secret;
    if (flags.turn_uris.empty()) return "at least one turn-uri is required but none given";
    rt.rtm.turn.shared_secret = protocol::trim_space(*secret);
    rt.rtm.turn.uris = flags.turn_uris;
    if (rt.rtm.turn.shared_secret.empty()) return "TURN shared secret file " + flags.turn_shared_secret + " is empty";
  }
  if (!flags.turn_service_url.empty() && rt.rtm.turn.shared_secret.empty()) {
    if (flags.turn_service_credentials.empty()) return "--turn-service-url requires --turn-service-credentials";
    auto credentials = read_file(flags.turn_service_credentials);
    if (!credentials) return "failed to read TURN service credentials file " + flags.turn_service_credentials;
    const auto line = protocol::trim_space(std::string_view(*credentials).substr(0, credentials->find('\n')));
    if (line.find(':') == std::string::npos)
      return "TURN service credentials file " + flags.turn_service_credentials + " must hold user:password";
    rt.rtm.turn.service_url = flags.turn_service_url;
    rt.rtm.turn.service_credentials = line;
    rt.rtm.turn.insecure = flags.insecure;
  }
  return std::nullopt;
}

}  // namespace

void add_serve_flags(CLI::App& serve, serve_flags& flags) {
  auto& rt = flags.runtime;
  auto& http = rt.server.http;
  auto& ws = rt.server.websocket;
  auto& rate = rt.rtm.connection.rate_limit;
  std::string group;
  auto flag = [&](const std::string& name, auto& target, const std::string& help) {
    return serve.add_option("--" + name, target, help)->envname(env_name(name))->capture_default_str()->group(group);
  };
  // Booleans work as in the original: `--name`, `--name=true`, `--name=false`.
  auto toggle = [&](const std::string& name, bool& target, const std::string& help) {
    return serve.add_flag("--" + name, target, help)->envname(env_name(name))->capture_default_str()->group(group);
  };
  // Repeatable; the environment variable holds the values separated by spaces.
  auto list = [&](const std::string& name, const std::string& env, std::vector<std::string>& target,
                  const std::string& help) {
    return serve.add_option("--" + name, target, help)->envname(env)->delimiter(' ')->group(group);
  };
  auto listen_check = [](const std::string& value) {
    return parse_listen(value) ? std::string() : "expected host:port, got '" + value + "'";
  };

  group = "General";
  flag("config", flags.config_file,
       "configuration file of the original's packaging (key=value lines, /etc/kopano/kwmserverd.cfg)");
  flag("listen", flags.listen, "TCP listen address (host:port)")->check(listen_check);
  toggle("dry-run", flags.dry_run,
         "check the flags, environment, config file and the files they name, then exit (0: all "
         "usable)");
  flag("log-level", flags.log_level, "log level: panic, fatal, error, warn, info, debug")
      ->check([](const std::string& value) {
        return is_log_level(value) ? std::string() : "unknown log level '" + value + "'";
      });
  toggle("log-timestamp", flags.log_timestamp, "prefix log lines with a timestamp");
  flag("log-format", flags.log_format, "log line format: text (logrus-like) or json")
      ->check(CLI::IsMember({"text", "json"}));
  flag("tls-cert", flags.tls_cert,
       "PEM certificate chain (server certificate first); with --tls-key the listener serves HTTPS and WSS only");
  flag("tls-key", flags.tls_key, "PEM private key (unencrypted) of --tls-cert; SIGHUP reloads both");
  toggle("with-metrics", flags.with_metrics, "serve Prometheus metrics on --metrics-listen");
  flag("metrics-listen", flags.metrics_listen, "metrics listen address (host:port)")->check(listen_check);
  flag("metrics-max-connections", flags.metrics_max_connections,
       "concurrent connections to the metrics listener (at least 1; taken from the descriptor budget)")
      ->check(CLI::PositiveNumber);

  group = "APIs";
  toggle("enable-rtm-api", flags.enable_rtm_api, "serve the RTM API (both versions)");
  toggle("enable-mcu-api", flags.enable_mcu_api, "serve the MCU WebSockets and route pipelined channels");
  flag("pipeline-forced-regexp", flags.pipeline_forced_regexp, "channel ids routed through an MCU pipeline");
  toggle("enable-guest-api", flags.enable_guest_api, "guest logon endpoint and guest Bearer tokens");
  toggle("allow-guest-only-channels", flags.allow_guest_only_channels, "guests may create or join empty channels");
  flag("registration-conf", flags.registration_conf, "client registry YAML (needed for guest logon)");
  flag("public-guest-access-regexp", flags.public_guest_access_regexp,
       "groups open for guest logon (unanchored regular expression), e.g. ^group/public/.*");
  toggle("enable-www", flags.enable_www, "serve static files from --www-root at /");
  flag("www-root", flags.www_root, "directory of the static files");
  toggle("enable-docs", flags.enable_docs, "serve --docs-root at /docs");
  flag("docs-root", flags.docs_root, "directory of the documentation");

  group = "Authentication";
  flag("admin-tokens-key", flags.admin_tokens_key,
       "key file (at least 32 bytes) for admin-issued Token auth; enables the admin API");
  flag("admin-max-revocations", flags.admin_max_revocations,
       "unexpired token revocations kept; a DELETE beyond gets 503 (0 = unlimited)");
  toggle("enable-auth-basic", flags.enable_auth_basic, "enable Basic auth");
  flag("auth-basic-values", flags.auth_basic_values, "file of allowed Basic header values, one per line");
  toggle("insecure-auth", flags.insecure_auth, "do not require user to match the authenticated subject");
  flag("iss", flags.issuer, "OIDC issuer (https URL); enables Bearer auth");
  toggle("insecure", flags.insecure, "skip TLS verification of outbound HTTPS (OIDC, TURN service)");
  list("rtm-required-scope", "KWMSERVERD_RTM_REQUIRED_SCOPES", flags.required_scopes,
       "scope required in Bearer tokens (repeatable)");
  flag("trusted-networks", flags.trusted_networks,
       "CIDR blocks allowed to use the admin and MCU routes (default loopback)")
      ->delimiter(',');

  group = "TURN";
  list("turn-uri", "KWMSERVERD_TURN_URIS", flags.turn_uris, "TURN URI handed to clients (repeatable)");
  flag("turn-server-shared-secret", flags.turn_shared_secret, "file with the TURN REST API shared secret");
  serve.add_option("--turn-service-url", flags.turn_service_url, "external TURN credential service")
      ->envname("KWMSERVERD_TURN_SERVER_SERVICE_URL")
      ->group(group);
  serve.add_option("--turn-service-credentials", flags.turn_service_credentials,
                   "file with user:password for the TURN credential service")
      ->envname("KWMSERVERD_TURN_SERVER_SERVICE_CREDENTIALS")
      ->group(group);

  group = "Limits";
  flag("rtm-max-connections-per-user", rt.rtm.max_connections_per_user,
       "live RTM connections per user id (0 = unlimited)");
  flag("rtm-rate-limit", rate.tokens_per_second, "incoming frames per second per connection (0 = off)");
  flag("rtm-rate-burst", rate.burst, "incoming frame burst per connection");
  flag("rtm-rate-limit-close-after", rate.close_after_rejections,
       "rate-limit rejections within 10 s that close the connection (0 = never)");
  flag("max-connections", http.max_connections, "concurrent inbound connections (0 = descriptor limit - 64)");
  flag("ws-send-queue-messages", ws.send_queue_messages, "outgoing queue bound in messages");
  flag("ws-send-queue-bytes", ws.send_queue_bytes, "outgoing queue bound in bytes");
  flag("http-max-header-bytes", http.max_header_bytes, "request line + header limit");
  flag("http-max-body-bytes", http.max_body_bytes, "body limit of connect, turn and guest logon");
  flag("http-read-header-timeout", flags.http_read_header_timeout, "seconds for the request head");
  flag("http-read-timeout", flags.http_read_timeout, "seconds for the complete request");
  flag("http-idle-timeout", flags.http_idle_timeout, "seconds an idle keep-alive connection stays");
  // Field and resource limits of D20 (checked against the queue bounds in resolve_serve_flags).
  auto& connection = rt.rtm.connection;
  flag("rtm-rate-limit-bytes", rate.bytes_per_second, "incoming bytes per second per RTM connection (0 = off)");
  flag("rtm-rate-burst-bytes", rate.burst_bytes, "incoming byte burst per RTM connection");
  flag("rtm-max-user-bytes", connection.fields.user_bytes,
       "longest user id and display name in bytes (connect: 400 user too long; 0 = off)");
  flag("rtm-max-field-bytes", connection.fields.field_bytes,
       "longest target, state, channel, group, hash, transaction, pcid in bytes (0 = off)");
  flag("rtm-max-data-bytes", connection.fields.data_bytes, "longest serialised webrtc data in bytes (0 = off)");
  flag("rtm-max-elements", connection.json.max_elements,
       "members + array elements in one frame over all levels (more: invalid JSON, fatal; 0 = off)");
  flag("rtm-max-groups-per-connection", connection.max_groups, "groups one connection may be in (0 = unlimited)");
  flag("rtm-max-channels-per-connection", connection.max_calls,
       "1:1 channels one connection may be in (0 = unlimited)");
  flag("rtm-max-group-members", rt.channels.max_group_members, "members of one group (0 = unlimited)");
  flag("rtm-max-channels", rt.channels.max_channels,
       "live 1:1 and group channels in the process (0 = unlimited)");
  flag("rtm-max-channels-per-user", rt.channels.max_channels_per_user,
       "live channels created by one user id: calls it started, groups it joined first (0 = "
       "unlimited)");
  flag("max-pending-connects", rt.connect_keys.max_pending,
       "connect keys issued and not yet used or expired (503 beyond; 0 = unlimited)");
  flag("max-pending-connects-per-client", rt.connect_keys.max_pending_per_client,
       "pending connect keys of one client: an authenticated user, otherwise an address, IPv6 "
       "per /64 (429 beyond; 0 = unlimited)");

  // Connection table (D20): per-address caps; X-Forwarded-For only from trusted proxies.
  flag("max-connections-per-address", http.max_connections_per_address,
       "concurrent connections per client address, IPv6 per /64 (0 = off)");
  flag("trusted-proxies", flags.trusted_proxies,
       "CIDR blocks whose X-Forwarded-For names the client for --max-connections-per-address "
       "and --max-pending-connects-per-client")
      ->delimiter(',');

  group = "WebSocket limits";
  flag("ws-max-message-bytes", ws.max_message_bytes, "largest incoming message (larger: goodbye, close 1009)");
  flag("ws-message-timeout", flags.ws_message_timeout,
       "seconds a message may take from its first byte to its end (0 = no limit; then close 1008)");
  flag("ws-max-unfinished-bytes", ws.max_unfinished_bytes,
       "memory all unfinished messages may hold together; beyond it the largest are closed (0 = no limit)");
  flag("ws-frames-per-second", ws.frames_per_second,
       "frames that do not end a message (pings, pongs, fragments) read per second per "
       "WebSocket, also their burst; beyond, reading pauses (0 = off)");
  flag("ws-inflight-frames", ws.max_inflight_frames,
       "frames read but not yet processed after which a socket is not read (0 = no limit)");
  flag("ws-inflight-bytes", ws.max_inflight_bytes,
       "bytes read but not yet processed after which a socket is not read (0 = no limit)");

  group = "Cluster";
  flag("cluster-redis", flags.cluster_redis,
       "redis://[[user]:password@]host[:port][/db]: run as one node of a cluster sharing this Redis");
  flag("cluster-node-name", flags.cluster_node_name,
       "readable part of this node's id, [A-Za-z0-9._-]{1,64} (default: the host name)");
  flag("cluster-key-prefix", flags.cluster_key_prefix, "prefix of every Redis key and channel of the cluster");
  flag("cluster-node-ttl", flags.cluster_node_ttl,
       "seconds after its last heartbeat until a crashed node's channels are taken over (heartbeat: TTL/5)")
      ->check(CLI::Range(1u, 3600u));

  group = "Tuning";
  flag("io-threads", flags.io_threads, "network threads (0 = one per core)");
  flag("actor-threads", flags.actor_threads, "worker threads of the stealing and sharing schedulers (0 = one per core)");
  flag("scheduler-policy", flags.scheduler_policy,
       "actor scheduler: io (actors run on the network threads), stealing or sharing")
      ->check(CLI::IsMember({"io", "stealing", "sharing"}));
  flag("actor-max-throughput", rt.actor_max_throughput, "messages an actor handles before others get their turn");

  // Flags of the original that have no counterpart here: accepted by the parser so the
  // answer is a clear message instead of "unknown option".
  for (const char* name : {"with-pprof", "enable-janus-api"})
    serve.add_flag_function(
             "--" + std::string(name), [&flags, name](std::int64_t) { flags.unsupported.push_back(name); },
             "not supported (original only)")
        ->group("");
  serve.add_option_function<std::string>(
           "--pprof-listen", [&flags](const std::string&) { flags.unsupported.push_back("pprof-listen"); },
           "not supported (original only)")
      ->group("");
}

namespace {

// The readable part of the node id: the host name, cut to the characters node names allow.
std::string default_node_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "kwmserverd";
  std::string name;
  for (const char* c = host; *c != 0 && name.size() < 64; ++c)
    name += kwm::cluster::valid_node_name(std::string_view(c, 1)) ? *c : '-';
  return name.empty() ? "kwmserverd" : name;
}

std::optional<startup_error> configure_cluster(serve_flags& flags) {
  if (flags.cluster_redis.empty()) return std::nullopt;
  auto parsed = kwm::cluster::parse_redis_url(flags.cluster_redis);
  if (!parsed.endpoint) return startup_error{"invalid --cluster-redis: " + parsed.error, 2};
  const auto name = flags.cluster_node_name.empty() ? default_node_name() : flags.cluster_node_name;
  if (!kwm::cluster::valid_node_name(name))
    return startup_error{"invalid --cluster-node-name '" + name + "': 1-64 of A-Z a-z 0-9 . _ -", 2};
  if (flags.cluster_key_prefix.empty()) return startup_error{"--cluster-key-prefix must not be empty", 2};
  auto& options = flags.runtime.cluster.emplace();
  options.redis.endpoint = *parsed.endpoint;
  options.node_name = name;
  options.key_prefix = flags.cluster_key_prefix;
  options.timing.node_ttl = std::chrono::seconds(flags.cluster_node_ttl);
  options.timing.heartbeat = options.timing.node_ttl / 5;
  return std::nullopt;
}

}  // namespace

std::optional<startup_error> resolve_serve_flags(serve_flags& flags) {
  for (const auto& name : flags.unsupported)
    return startup_error{"--" + name + " belongs to the original Go server and is not supported here", 2};
  auto& rt = flags.runtime;
  rt.mcu.enabled = flags.enable_mcu_api;
  std::string pattern_error;
  rt.mcu.forced = protocol::search_pattern::compile(flags.pipeline_forced_regexp, pattern_error);
  // As the original: logged, and no channel is pipelined.
  if (!rt.mcu.forced) log::error("invalid --pipeline-forced-regexp, pipelines disabled", {{"error", pattern_error}});
  const auto address = *parse_listen(flags.listen);
  rt.server.host = address.host;
  rt.server.port = address.port;
  rt.io_threads = flags.io_threads;
  rt.actor_threads = flags.actor_threads;
  rt.scheduler_policy = flags.scheduler_policy;
  rt.enable_rtm_api = flags.enable_rtm_api;
  rt.server.http.read_header_timeout = std::chrono::seconds(flags.http_read_header_timeout);
  rt.server.http.read_timeout = std::chrono::seconds(flags.http_read_timeout);
  rt.server.http.idle_timeout = std::chrono::seconds(flags.http_idle_timeout);
  rt.server.websocket.message_timeout = std::chrono::seconds(flags.ws_message_timeout);
  for (auto [texts, filter, name] :
       {std::tuple{&flags.trusted_networks, &rt.server.trusted_networks, "--trusted-networks"},
        std::tuple{&flags.trusted_proxies, &rt.server.trusted_proxies, "--trusted-proxies"}}) {
    if (texts->empty()) continue;
    std::vector<net::network> networks;
    for (const auto& text : *texts) {
      auto network = net::network::parse(text);
      if (!network)
        return startup_error{"invalid " + std::string(name) + " entry '" + text + "'", 2};
      networks.push_back(*network);
    }
    *filter = net::address_filter(std::move(networks));
  }
  if (flags.with_metrics) {
    const auto metrics_address = *parse_listen(flags.metrics_listen);
    // The same HTTP limits and timeouts as the main listener, its own small table, and the
    // descriptors that table may hold are left out of the main listener's automatic cap.
    net::server_config metrics = rt.server;
    metrics.host = metrics_address.host;
    metrics.port = metrics_address.port;
    metrics.http.max_connections = flags.metrics_max_connections;
    metrics.http.max_connections_per_address = 0;
    metrics.http.descriptors_for_others = 0;
    metrics.trusted_proxies = {};
    rt.server.http.descriptors_for_others = flags.metrics_max_connections;
    rt.metrics_listener = metrics;
  }
  // Static roots must exist at startup (spec §1.9).
  for (auto [enabled, root, target, flag] : {std::tuple{flags.enable_www, &flags.www_root, &rt.www_root, "--www-root"},
                                             std::tuple{flags.enable_docs, &flags.docs_root, &rt.docs_root, "--docs-root"}}) {
    if (!enabled) continue;
    std::error_code error;
    if (!std::filesystem::is_directory(*root, error))
      return startup_error{std::string(flag) + " " + *root + " is not an existing directory", 1};
    *target = *root;
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty())
    return startup_error{"--tls-cert and --tls-key must be given together", 2};
  if (!flags.tls_cert.empty()) {
    std::string error;
    rt.server.tls = net::tls_context::open({flags.tls_cert, flags.tls_key}, error);
    if (!rt.server.tls) return startup_error{"TLS: " + error, 1};
    log_tls_certificate(*rt.server.tls);
  }
  if (auto problem = configure_auth(flags)) return startup_error{*problem, 1};
  if (auto problem = configure_cluster(flags)) return problem;
  const auto limits = check_limits(rt);
  if (limits.error) return startup_error{*limits.error, 2};
  if (limits.warning) log::warn(*limits.warning);
  return std::nullopt;
}

}  // namespace kwm::app
