// kwmbench: a load generator for kwm-compatible signaling servers. It connects through the
// real HTTP connect call and parses every frame it acts on as JSON, so it can be pointed at
// any implementation (ours writes compact JSON, the original pretty-prints). Prints a table
// and a `result key=value …` line per run.
//
//   kwmbench --scenario ping|relay|connect|idle|group|soak [--host H --port P --v1 --tls]
//            [--auth anonymous|token|basic:<value>] [--connections N --window W --duration S]
//            [--members M --senders K] [--server-pid PID] [--sources 127.0.0.2,127.0.0.3]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/scenario.hpp"

namespace kwm::bench {

std::string authorization_for(const settings& s, const std::string& user) {
  if (s.auth == "token") return admin_token_for(s.target, user);
  if (s.auth.rfind("basic:", 0) == 0) return "Basic " + s.auth.substr(6);
  return {};
}

std::vector<std::unique_ptr<peer>> open_peers(settings& s, const std::vector<std::string>& users) {
  std::vector<std::unique_ptr<peer>> peers;
  frame_scanner scanner;
  frame_fields fields;
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto target = s.target;
    if (!s.ports.empty()) target.port = s.ports[i % s.ports.size()];
    target.authorization = authorization_for(s, users[i]);
    auto p = std::make_unique<peer>();
    p->connection = open_rtm_socket(target, users[i], i);
    if (!p->connection.is_open()) {
      std::fprintf(stderr, "connect failed for %s (connection %zu)\n", users[i].c_str(), i + 1);
      std::exit(1);
    }
    read_frame_until(
        *p, scanner, fields, [](const frame_fields& f) { return f.kind == frame_kind::hello; },
        "hello");
    peers.push_back(std::move(p));
  }
  return peers;
}

void read_frame_until(peer& p, frame_scanner& scanner, frame_fields& fields,
                      const std::function<bool(const frame_fields&)>& wanted, const char* what) {
  const bool found = read_until(p.connection, p.reader, [&](std::string_view text) {
    return scanner.scan(text, fields) && wanted(fields);
  });
  if (!found) {
    std::fprintf(stderr, "the connection ended (or 10 s passed) while waiting for %s\n", what);
    std::exit(1);
  }
}

int run_measured(loop& l, const settings& s, run_result& r, latency_histogram& latency,
                 const std::function<void(peer&, std::string_view)>& on_text) {
  r.interval = start_measurement(s.server_pid, s.duration);
  l.run(after_seconds(s.duration), {.on_text = on_text, .on_closed = [&](peer&) { ++r.closed; }});
  // A run shorter than one message (a loaded machine, a very short --duration) goes on until
  // the first message counts, so a smoke test's verdict does not depend on the machine's load.
  if (r.count == 0 && r.closed == 0)
    l.run(after_seconds(30), {.on_text = on_text,
                              .on_closed = [&](peer&) { ++r.closed; },
                              .done = [&] { return r.count > 0 || r.closed > 0; }});
  r.interval.stop();
  r.latency = &latency;
  print_result(r);
  return r.count > 0 && r.closed == 0 ? 0 : 1;
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

long open_fds(int pid) {
  std::error_code error;
  long count = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", error), end;
       !error && it != end; it.increment(error))
    ++count;
  return error ? -1 : count;
}

}  // namespace kwm::bench

int main(int argc, char** argv) {
  using namespace kwm::bench;
  settings s;
  std::string sources;
  CLI::App app{"kwmbench: load generator for kwm signaling servers"};
  app.add_option("--scenario", s.scenario, "ping, relay, connect, idle, group or soak")
      ->check(CLI::IsMember({"ping", "relay", "connect", "idle", "group", "soak"}));
  app.add_option("--host", s.target.host, "server address (IPv4)");
  app.add_option("--port", s.target.port, "server port");
  app.add_flag("--v1", s.target.v1, "use the /api/v1 paths");
  app.add_flag("--tls", s.target.tls, "HTTPS and WSS (the server's certificate is not verified)");
  app.add_flag("--tls-resume", s.target.tls_resume,
               "with --tls: each WebSocket resumes the TLS session of its connect call, as browsers do");
  app.add_option("--auth", s.auth, "anonymous, token (via the admin API) or basic:<header value>");
  auto* connections = app.add_option("--connections", s.connections,
                                     "connections (relay: 2 per pair; idle, soak: 10000)");
  auto* window = app.add_option(
      "--window", s.window,
      "messages in flight per connection (group: per sender; connect: parallel clients; "
      "soak: calls in flight)");
  app.add_option("--duration", s.duration, "seconds of measurement");
  app.add_option("--members", s.members, "group: members");
  app.add_option("--senders", s.senders, "group: members that send");
  app.add_option("--server-pid", s.server_pid,
                 "the server's pid: its CPU time per message (all scenarios), RSS and descriptors "
                 "(idle, soak)");
  app.add_option("--sample-every", s.sample_every, "soak: seconds between samples");
  app.add_option("--ports", s.ports, "cluster nodes: connection i goes to the i-th port round-robin")
      ->delimiter(',');
  app.add_option("--sources", sources, "comma-separated local source addresses (127.0.0.x)");
  CLI11_PARSE(app, argc, argv);
  if (s.target.tls_resume) s.target.tls = true;
  if (s.target.tls) enable_client_tls();
  if ((s.scenario == "idle" || s.scenario == "soak") && connections->count() == 0)
    s.connections = 10000;
  if (s.scenario == "soak" && window->count() == 0) s.window = 20;
  for (std::size_t start = 0; !sources.empty() && start <= sources.size();) {
    const auto comma = sources.find(',', start);
    s.target.sources.push_back(sources.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (s.scenario == "ping") return ping(s);
  if (s.scenario == "relay") return relay(s);
  if (s.scenario == "connect") return connect_rate(s);
  if (s.scenario == "idle") return idle(s);
  if (s.scenario == "soak") return soak(s);
  return group(s);
}
