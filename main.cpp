// kwmserverd: the command line (serve, version, healthcheck) and the wiring.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <iostream>
#include <optional>
#include <regex>
#include <variant>

#include "app/logging.hpp"
#include "app/registration.hpp"
#include "app/runtime.hpp"
#include "net/http_client.hpp"
#include "protocol/admin_token.hpp"

#ifndef KWM_VERSION
#define KWM_VERSION "0.0.0-dev"
#endif
#ifndef KWM_BUILD_DATE
#define KWM_BUILD_DATE "unknown"
#endif

namespace {

// Usage errors (unknown flags, bad values) exit with 2; runtime failures with 1.
constexpr int exit_usage = 2;
constexpr int exit_failure = 1;

struct listen_address {
  std::string host;
  uint16_t port = 0;
};

// "host:port", "[v6]:port" or ":port" (all interfaces).
std::optional<listen_address> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  listen_address result;
  result.host = text.substr(0, colon);
  if (result.host.size() >= 2 && result.host.front() == '[' && result.host.back() == ']')
    result.host = result.host.substr(1, result.host.size() - 2);
  if (result.host.empty()) result.host = "0.0.0.0";
  const auto digits = std::string_view(text).substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() || port > 65535)
    return std::nullopt;
  result.port = static_cast<uint16_t>(port);
  return result;
}

std::string env_name(const std::string& flag) {
  std::string name = "KWMSERVERD_";
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

struct serve_flags {
  std::string listen = "127.0.0.1:8778";
  std::string log_level = "info";
  bool log_timestamp = true;
  bool enable_rtm_api = true;
  std::size_t io_threads = 0;
  std::size_t actor_threads = 0;
  std::string scheduler_policy = "sharing";  // measured: docs/performance.md
  kwm::app::runtime_options runtime;
  std::vector<std::string> trusted_networks;
  unsigned http_read_header_timeout = 10;
  unsigned http_read_timeout = 30;
  unsigned http_idle_timeout = 60;
  std::string admin_tokens_key;
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
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return content.str();
}

std::string trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n\v\f");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n\v\f") - first + 1);
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
    auto loaded = kwm::app::load_registration(flags.registration_conf);
    if (auto* error = std::get_if<std::string>(&loaded)) return *error;
    rt.guests.clients = std::get<std::vector<kwm::protocol::guest_client>>(std::move(loaded));
  }
  if (!flags.public_guest_access_regexp.empty()) {
    try {
      rt.guests.public_paths.emplace(flags.public_guest_access_regexp);
    } catch (const std::regex_error& e) {
      return "invalid --public-guest-access-regexp: " + std::string(e.what());
    }
  }
  if (!flags.turn_shared_secret.empty()) {
    auto secret = read_file(flags.turn_shared_secret);
    if (!secret) return "failed to read TURN shared secret file " + flags.turn_shared_secret;
    if (flags.turn_uris.empty()) return "at least one turn-uri is required but none given";
    rt.rtm.turn.shared_secret = trimmed(std::move(*secret));
    rt.rtm.turn.uris = flags.turn_uris;
    if (rt.rtm.turn.shared_secret.empty()) return "TURN shared secret file " + flags.turn_shared_secret + " is empty";
  }
  if (!flags.turn_service_url.empty() && rt.rtm.turn.shared_secret.empty()) {
    if (flags.turn_service_credentials.empty()) return "--turn-service-url requires --turn-service-credentials";
    auto credentials = read_file(flags.turn_service_credentials);
    if (!credentials) return "failed to read TURN service credentials file " + flags.turn_service_credentials;
    const auto line = trimmed(credentials->substr(0, credentials->find('\n')));
    if (line.find(':') == std::string::npos)
      return "TURN service credentials file " + flags.turn_service_credentials + " must hold user:password";
    rt.rtm.turn.service_url = flags.turn_service_url;
    rt.rtm.turn.service_credentials = line;
    rt.rtm.turn.insecure = flags.insecure;
  }
  return std::nullopt;
}

void add_serve_flags(CLI::App& serve, serve_flags& flags) {
  auto& rt = flags.runtime;
  auto& http = rt.server.http;
  auto& ws = rt.server.websocket;
  auto& rate = rt.rtm.connection.rate_limit;
  auto flag = [&](const std::string& name, auto& target, const std::string& help) {
    return serve.add_option("--" + name, target, help)->envname(env_name(name))->capture_default_str();
  };
  // Booleans work as in the original: `--name`, `--name=true`, `--name=false`.
  auto toggle = [&](const std::string& name, bool& target, const std::string& help) {
    return serve.add_flag("--" + name, target, help)->envname(env_name(name))->capture_default_str();
  };
  flag("listen", flags.listen, "TCP listen address (host:port)")
      ->check([](const std::string& value) {
        return parse_listen(value) ? std::string() : "expected host:port, got '" + value + "'";
      });
  flag("log-level", flags.log_level, "log level: panic, fatal, error, warn, info, debug")
      ->check([](const std::string& value) {
        return kwm::app::is_log_level(value) ? std::string() : "unknown log level '" + value + "'";
      });
  toggle("log-timestamp", flags.log_timestamp, "prefix log lines with a timestamp");
  toggle("enable-rtm-api", flags.enable_rtm_api, "serve the RTM API (both versions)");
  flag("io-threads", flags.io_threads, "network threads (0 = one per core)");
  flag("actor-threads", flags.actor_threads, "actor scheduler threads (0 = one per core)");
  flag("scheduler-policy", flags.scheduler_policy, "actor scheduler: stealing or sharing")
      ->check(CLI::IsMember({"stealing", "sharing"}));
  flag("trusted-networks", flags.trusted_networks,
       "CIDR blocks allowed to use the admin and MCU routes (default loopback)")
      ->delimiter(',');
  flag("rtm-max-connections-per-user", rt.rtm.max_connections_per_user,
       "live RTM connections per user id (0 = unlimited)");
  flag("rtm-rate-limit", rate.tokens_per_second, "incoming frames per second per connection (0 = off)");
  flag("rtm-rate-burst", rate.burst, "incoming frame burst per connection");
  flag("rtm-rate-limit-close-after", rate.close_after_rejections,
       "rate-limit rejections within 10 s that close the connection (0 = never)");
  flag("max-connections", http.max_connections,
       "concurrent inbound connections (0 = descriptor limit - 64)");
  flag("ws-send-queue-messages", ws.send_queue_messages, "outgoing queue bound in messages");
  flag("ws-send-queue-bytes", ws.send_queue_bytes, "outgoing queue bound in bytes");
  flag("http-max-header-bytes", http.max_header_bytes, "request line + header limit");
  flag("http-max-body-bytes", http.max_body_bytes, "body limit of connect, turn and guest logon");
  flag("http-read-header-timeout", flags.http_read_header_timeout, "seconds for the request head");
  flag("http-read-timeout", flags.http_read_timeout, "seconds for the complete request");
  flag("http-idle-timeout", flags.http_idle_timeout, "seconds an idle keep-alive connection stays");
  flag("admin-tokens-key", flags.admin_tokens_key,
       "key file (at least 32 bytes) for admin-issued Token auth; enables the admin API");
  toggle("enable-auth-basic", flags.enable_auth_basic, "enable Basic auth");
  flag("auth-basic-values", flags.auth_basic_values, "file of allowed Basic header values, one per line");
  toggle("insecure-auth", flags.insecure_auth, "do not require user to match the authenticated subject");
  flag("iss", flags.issuer, "OIDC issuer (https URL); enables Bearer auth");
  toggle("insecure", flags.insecure, "skip TLS verification of outbound HTTPS (OIDC, TURN service)");
  serve.add_option("--rtm-required-scope", flags.required_scopes, "scope required in Bearer tokens (repeatable)")
      ->envname("KWMSERVERD_RTM_REQUIRED_SCOPES")
      ->delimiter(' ');
  toggle("enable-guest-api", flags.enable_guest_api, "accept guest Bearer tokens");
  toggle("allow-guest-only-channels", flags.allow_guest_only_channels, "guests may create or join empty channels");
  flag("registration-conf", flags.registration_conf, "client registry YAML (needed for guest logon)");
  flag("public-guest-access-regexp", flags.public_guest_access_regexp,
       "groups open for guest logon (unanchored regular expression), e.g. ^group/public/.*");
  serve.add_option("--turn-uri", flags.turn_uris, "TURN URI handed to clients (repeatable)")
      ->envname("KWMSERVERD_TURN_URIS")
      ->delimiter(' ');
  serve.add_option("--turn-service-url", flags.turn_service_url, "external TURN credential service")
      ->envname("KWMSERVERD_TURN_SERVER_SERVICE_URL");
  serve.add_option("--turn-service-credentials", flags.turn_service_credentials,
                   "file with user:password for the TURN credential service")
      ->envname("KWMSERVERD_TURN_SERVER_SERVICE_CREDENTIALS");
  serve.add_option("--turn-server-shared-secret", flags.turn_shared_secret,
                   "file with the TURN REST API shared secret")
      ->envname("KWMSERVERD_TURN_SERVER_SHARED_SECRET");
}

int run_serve(serve_flags& flags) {
  kwm::app::setup_logging(flags.log_level, flags.log_timestamp);
  auto& rt = flags.runtime;
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
  if (!flags.trusted_networks.empty()) {
    std::vector<kwm::net::network> networks;
    for (const auto& text : flags.trusted_networks) {
      auto network = kwm::net::network::parse(text);
      if (!network) {
        std::cerr << "Error: invalid --trusted-networks entry '" << text << "'\n";
        return exit_usage;
      }
      networks.push_back(*network);
    }
    rt.server.trusted_networks = kwm::net::address_filter(std::move(networks));
  }

  if (auto problem = configure_auth(flags)) {
    std::cerr << "Error: " << *problem << '\n';
    return exit_failure;
  }
  if (!rt.admin_tokens && !rt.rtm.auth.basic && !rt.oidc)
    spdlog::warn("no authentication backend configured, running in anonymous mode without authentication");
  kwm::app::server_runtime runtime(rt);
  try {
    runtime.handle_signals();
    runtime.start();
  } catch (const std::exception& e) {
    std::cerr << "Error: failed to listen on " << flags.listen << ": " << e.what() << '\n';
    return exit_failure;
  }
  spdlog::info("listening on {}:{}", address.host, runtime.port());
  runtime.wait();
  spdlog::info("clean shutdown");
  return 0;
}

struct healthcheck_flags {
  std::string hostname = "127.0.0.1:8778";
  std::string path = "/health-check";
  std::string scheme = "http";
  bool insecure = false;
};

int run_healthcheck(const healthcheck_flags& flags) {
  if (flags.scheme != "http") {
    std::cerr << "Error: healthcheck request failed: scheme '" << flags.scheme
              << "' is not supported (use http)\n";
    return exit_failure;
  }
  try {
    const auto response = kwm::net::http_request_once(
        "POST", flags.hostname, flags.path,
        {{"Connection", "close"}, {"User-Agent", std::string("Kopano-Kwmserver/") + KWM_VERSION}},
        std::chrono::seconds(60));
    if (response.status != 200) {
      std::cerr << response.body;
      std::cerr << "Error: healthcheck failed with status: " << response.status << '\n';
      return exit_failure;
    }
  } catch (const std::exception& e) {
    std::cerr << "Error: healthcheck request failed: " << e.what() << '\n';
    return exit_failure;
  }
  std::cout << "healthcheck successful\n";
  return 0;
}

int run_version() {
  std::cout << "Version    : " << KWM_VERSION << '\n'
            << "Build date : " << KWM_BUILD_DATE << '\n'
            << "Built with : g++ " << __VERSION__ << " linux/"
#if defined(__x86_64__)
            << "amd64"
#elif defined(__aarch64__)
            << "arm64"
#else
            << "unknown"
#endif
            << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kwmserverd: Kopano Web Meetings signaling server", "kwmserverd"};
  app.set_help_all_flag("--help-all", "show help for every subcommand");

  serve_flags serve;
  auto* serve_command = app.add_subcommand("serve", "run the server");
  add_serve_flags(*serve_command, serve);

  auto* version_command = app.add_subcommand("version", "print version information");

  healthcheck_flags health;
  auto* health_command = app.add_subcommand("healthcheck", "check a running server's health");
  health_command->add_option("--hostname", health.hostname, "host:port of the server")->capture_default_str();
  health_command->add_option("--path", health.path, "path of the health check")->capture_default_str();
  health_command->add_option("--scheme", health.scheme, "URL scheme")->capture_default_str();
  health_command->add_flag("--insecure", health.insecure, "skip TLS verification");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "Error: " << e.what() << '\n';
    return exit_usage;
  }

  if (serve_command->parsed()) return run_serve(serve);
  if (version_command->parsed()) return run_version();
  if (health_command->parsed()) return run_healthcheck(health);
  std::cerr << app.help();
  return exit_usage;
}
