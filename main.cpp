// kwmserverd: the command line (serve, version, healthcheck) and the wiring.
#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string_view>

#include "actors/event_log.hpp"
#include "app/config_file.hpp"
#include "app/logging.hpp"
#include "app/runtime.hpp"
#include "app/serve_flags.hpp"
#include "app/service_notify.hpp"
#include "net/http_client.hpp"
#include "net/http_fetch.hpp"

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

int run_serve(kwm::app::serve_flags& flags) {
  kwm::app::setup_logging(flags.log_level, flags.log_timestamp, flags.log_format);
  if (auto problem = kwm::app::resolve_serve_flags(flags)) {
    std::cerr << "Error: " << problem->message << '\n';
    return problem->exit_code;
  }
  auto& rt = flags.runtime;
  if (!rt.admin_tokens && !rt.rtm.auth.basic && !rt.oidc)
    kwm::log::warn("no authentication backend configured, running in anonymous mode without authentication");
  if (flags.dry_run) {
    // Nothing is bound or contacted: a port in use or an unreachable issuer shows only when
    // serving.
    std::cout << "configuration ok\n";
    return 0;
  }
  kwm::app::server_runtime runtime(rt);
  try {
    runtime.handle_signals();
    runtime.start();
  } catch (const std::exception& e) {
    std::cerr << "Error: failed to listen on " << flags.listen << ": " << e.what() << '\n';
    return exit_failure;
  }
  kwm::log::info("listening", {{"address", rt.server.host + ":" + std::to_string(runtime.port())}});
  if (runtime.metrics_port() != 0)
    kwm::log::info("metrics listening",
                   {{"address", rt.metrics_listener->host + ":" + std::to_string(runtime.metrics_port())}});
  kwm::app::notify_ready();
  runtime.wait();
  kwm::log::info("clean shutdown");
  return 0;
}

struct healthcheck_flags {
  std::string hostname = "127.0.0.1:8778";
  std::string path = "/health-check";
  std::string scheme = "http";
  bool insecure = false;
};

// The health check over HTTPS (a server with --tls-cert), on an io_context of its own.
kwm::net::http_client_response https_request_once(const healthcheck_flags& flags,
                                                  std::vector<std::pair<std::string, std::string>> headers) {
  boost::asio::io_context io;
  kwm::net::fetch_result result;
  kwm::net::fetch_options options;
  options.method = "POST";
  options.headers = std::move(headers);
  options.insecure = flags.insecure;
  kwm::net::fetch(io, "https://" + flags.hostname + flags.path, options,
                  [&result](kwm::net::fetch_result r) { result = std::move(r); });
  io.run();
  if (!result.ok) throw std::runtime_error(result.error);
  return {result.status, std::move(result.body)};
}

int run_healthcheck(const healthcheck_flags& flags) {
  if (flags.scheme != "http" && flags.scheme != "https") {
    std::cerr << "Error: healthcheck request failed: scheme '" << flags.scheme
              << "' is not supported (use http or https)\n";
    return exit_failure;
  }
  try {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Connection", "close"}, {"User-Agent", std::string("Kopano-Kwmserver/") + KWM_VERSION}};
    const auto response = flags.scheme == "https"
                              ? https_request_once(flags, std::move(headers))
                              : kwm::net::http_request_once("POST", flags.hostname, flags.path, headers,
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

// The value of `serve --config <file>` / `--config=<file>`, else KWMSERVERD_CONFIG.
std::optional<std::string> config_file_argument(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return std::string(argv[i + 1]);
    if (arg.rfind("--config=", 0) == 0) return std::string(arg.substr(9));
  }
  if (const char* path = std::getenv("KWMSERVERD_CONFIG"); path != nullptr && *path != '\0') return std::string(path);
  return std::nullopt;
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

  kwm::app::serve_flags serve;
  auto* serve_command = app.add_subcommand("serve", "run the server");
  kwm::app::add_serve_flags(*serve_command, serve);

  auto* version_command = app.add_subcommand("version", "print version information");

  healthcheck_flags health;
  auto* health_command = app.add_subcommand("healthcheck", "check a running server's health");
  health_command->add_option("--hostname", health.hostname, "host:port of the server")->capture_default_str();
  health_command->add_option("--path", health.path, "path of the health check")->capture_default_str();
  health_command->add_option("--scheme", health.scheme, "URL scheme")->capture_default_str();
  health_command->add_flag("--insecure", health.insecure, "skip TLS certificate verification (https)");

  try {
    // A config file feeds the environment before the flags are read (app/config_file.hpp).
    if (auto path = config_file_argument(argc, argv)) {
      std::set<std::string> known;
      for (const auto* option : serve_command->get_options())
        if (!option->get_envname().empty()) known.insert(option->get_envname());
      if (auto error = kwm::app::export_config_file(*path, known)) {
        std::cerr << "Error: " << *error << '\n';
        return exit_usage;
      }
    }
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
