// The kwmserverd binary as a user runs it: subcommands, exit codes, environment
// variables, healthcheck, and SIGTERM with connected clients.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <re2/re2.h>
#include <sstream>

#include "support/process.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

namespace {

const std::string binary = KWM_SERVER_BINARY;

// Starts `kwmserverd serve` on an ephemeral port and returns the port it logged.
uint16_t wait_for_port(child_process& server) {
  const auto log = server.wait_for_stderr(R"(msg="listening")", std::chrono::seconds(10));
  REQUIRE(log.has_value());
  std::string port;
  REQUIRE(RE2::PartialMatch(*log, R"(msg="listening" address=[^ ]*:(\d+))", &port));
  return static_cast<uint16_t>(std::stoi(port));
}

}  // namespace

TEST_CASE("no subcommand prints help and exits 2") {
  const auto result = run_binary({binary});
  CHECK(result.status == 2);
  CHECK(result.err.find("serve") != std::string::npos);
}

TEST_CASE("unknown flags and bad values are usage errors with exit 2") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {binary, "serve", "--no-such-flag"},
           {binary, "serve", "--listen", "nonsense"},
           {binary, "serve", "--listen", "127.0.0.1:99999"},
           {binary, "serve", "--log-level", "loud"},
           {binary, "serve", "--io-threads", "many"},
           {binary, "serve", "--trusted-networks", "10.0.0.0/99"},
           {binary, "serve", "--trusted-proxies", "10.0.0.0/8,proxy"},
           {binary, "serve", "--max-connections-per-address", "few"},
           {binary, "bogus"}}) {
    CAPTURE(args.back());
    const auto result = run_binary(args);
    CHECK(result.status == 2);
    CHECK(result.err.rfind("Error: ", 0) == 0);
  }
}

TEST_CASE("version prints the version block") {
  const auto result = run_binary({binary, "version"});
  CHECK(result.status == 0);
  CHECK(result.out.find("Version    : ") == 0);
  CHECK(result.out.find("Build date : ") != std::string::npos);
  CHECK(result.out.find("Built with : ") != std::string::npos);
}

TEST_CASE("serve warns about anonymous mode, healthcheck succeeds, SIGTERM says goodbye") {
  child_process server({binary, "serve"}, {{"KWMSERVERD_LISTEN", "127.0.0.1:0"}});
  const uint16_t port = wait_for_port(server);
  CHECK(server.err.find("level=warning") != std::string::npos);
  CHECK(server.err.find("anonymous mode") != std::string::npos);

  const auto health = run_binary({binary, "healthcheck", "--hostname", "127.0.0.1:" + std::to_string(port)});
  CHECK(health.status == 0);
  CHECK(health.out == "healthcheck successful\n");

  std::vector<std::unique_ptr<ws_client>> clients;
  for (const char* user : {"alice", "bob", "carol"}) {
    const auto reply = http_call(port, "POST", std::string("/api/v1/rtm.connect?user=") + user);
    REQUIRE(reply.status == 200);
    clients.push_back(std::make_unique<ws_client>(port, parse_json(reply.body)["url"].GetString()));
    REQUIRE(clients.back()->is_open());
    REQUIRE(clients.back()->next_text().has_value());  // hello
  }
  server.send_signal(SIGTERM);
  for (auto& client : clients) {
    CHECK(client->next_text() == std::optional<std::string>(R"({"type":"goodbye","server_status":null})"));
    CHECK(client->wait_close() == std::optional<uint16_t>(1001));
  }
  const auto status = server.wait_exit(std::chrono::seconds(10));
  INFO("server log: " << server.err);
  CHECK(status == std::optional<int>(0));
}

TEST_CASE("healthcheck against a closed port fails with exit 1") {
  const auto result = run_binary({binary, "healthcheck", "--hostname", "127.0.0.1:1"});
  CHECK(result.status == 1);
  CHECK(result.err.rfind("Error: healthcheck request failed: ", 0) == 0);
}

TEST_CASE("a port that is in use is a startup failure with exit 1") {
  server_fixture occupied;
  const auto result = run_binary({binary, "serve", "--listen", "127.0.0.1:" + std::to_string(occupied.port())});
  CHECK(result.status == 1);
  CHECK(result.err.find("Error: failed to listen") != std::string::npos);
}

TEST_CASE("a config file of the original's packaging feeds the flags, the command line wins") {
  const auto dir = std::filesystem::temp_directory_path() / ("kwm-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto key = (dir / "admin.key").string();
  std::ofstream(key) << "0123456789abcdef0123456789abcdef";
  const auto config = (dir / "kwmserverd.cfg").string();
  std::ofstream(config) << "# kwmserverd.cfg as the packages ship it\n"
                        << "listen = 127.0.0.1:0\n"
                        << "log_level=info\n"
                        << "log_format = text\n"
                        << "enable_guest_api = no\n"
                        << "admin_tokens_secret_key = \"" << key << "\"\n"
                        << "rtm_required_scopes = scope1 scope2\n";
  child_process server({binary, "serve", "--config", config, "--log-format", "json"});
  const auto log = server.wait_for_stderr(R"("msg":"listening")", std::chrono::seconds(10));
  REQUIRE(log.has_value());
  std::string port_text;
  REQUIRE(RE2::PartialMatch(*log, R"re("msg":"listening","address":"[^"]*:(\d+)")re", &port_text));
  const auto port = static_cast<uint16_t>(std::stoi(port_text));
  // The admin key from the file enabled Token auth: no anonymous-mode warning, a working admin API.
  CHECK(server.err.find("anonymous mode") == std::string::npos);
  CHECK(http_call(port, "POST", "/api/kwm/v2/admin/auth/tokens", {{"Content-Type", "application/json"}},
                  R"({"type":"Token","sub":"alice"})")
            .status == 200);
  // Every line is one JSON object (the command line beat log_format = text).
  const auto first_line = server.err.substr(0, server.err.find('\n'));
  CHECK(parse_json(first_line).IsObject());
  server.send_signal(SIGTERM);
  CHECK(server.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));

  std::ofstream(config, std::ios::app) << "no_such_key = 1\n";
  const auto unknown = run_binary({binary, "serve", "--config", config});
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("unknown key 'no_such_key'") != std::string::npos);
  CHECK(run_binary({binary, "serve", "--config", (dir / "missing.cfg").string()}).status == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("flags of the original that do not exist here are refused with a clear message") {
  for (const char* flag : {"--with-pprof", "--enable-janus-api"}) {
    const auto result = run_binary({binary, "serve", flag});
    CHECK(result.status == 2);
    CHECK(result.err.find("not supported") != std::string::npos);
  }
}

TEST_CASE("systemd: READY=1 once listening, STOPPING=1 on SIGTERM (Type=notify)") {
  const auto path = std::filesystem::temp_directory_path() / ("kwm-notify-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  const int notify = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(notify >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  REQUIRE(::bind(notify, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  timeval wait{10, 0};
  ::setsockopt(notify, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  auto next_datagram = [&] {
    char buffer[512];
    const auto n = ::recv(notify, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  };
  child_process server({binary, "serve", "--listen", "127.0.0.1:0"}, {{"NOTIFY_SOCKET", path.string()}});
  const auto ready = next_datagram();
  CHECK(ready.find("READY=1") != std::string::npos);
  // Ready means bound: the log line with the port is already there.
  CHECK(server.wait_for_stderr(R"(msg="listening")", std::chrono::seconds(1)).has_value());
  server.send_signal(SIGTERM);
  CHECK(next_datagram().find("STOPPING=1") != std::string::npos);
  CHECK(server.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
  ::close(notify);
  std::filesystem::remove(path);
}

TEST_CASE("the systemd unit passes systemd-analyze verify") {
  if (!std::filesystem::exists("/usr/bin/systemd-analyze")) {
    MESSAGE("skipped: systemd-analyze is not installed (apt-get install systemd)");
    return;
  }
  std::ifstream in(std::string(KWM_SOURCE_DIR) + "/scripts/packaging/kwmserverd.service");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  // Verify the unit as shipped, with ExecStart pointing at the binary that was just built.
  auto unit = text.str();
  RE2::GlobalReplace(&unit, RE2::QuoteMeta("/usr/local/bin/kwmserverd"), binary);
  const auto dir = std::filesystem::temp_directory_path() / ("kwm-unit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "kwmserverd.service";
  std::ofstream(file) << unit;
  const auto result = run_binary({"/usr/bin/systemd-analyze", "verify", "--man=no", file.string()});
  INFO("systemd-analyze: " << result.out << result.err);
  CHECK(result.status == 0);
  CHECK(result.err.find("kwmserverd.service") == std::string::npos);  // no warning about our unit
  std::filesystem::remove_all(dir);
}

TEST_CASE("--enable-mcu-api with an invalid --pipeline-forced-regexp: logged, the MCU sockets still work") {
  child_process server({binary, "serve", "--listen", "127.0.0.1:0", "--enable-mcu-api", "--pipeline-forced-regexp", "("});
  const uint16_t port = wait_for_port(server);
  CHECK(server.err.find("invalid --pipeline-forced-regexp, pipelines disabled") != std::string::npos);
  ws_client control(port, "/api/kwm/v2/mcu/websocket", {{"Sec-WebSocket-Protocol", "kwmmcu-protocol"}});
  CHECK(control.is_open());
  server.send_signal(SIGTERM);
  CHECK(server.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("the per-address cap and trusted proxies come from flags and environment") {
  child_process server({binary, "serve", "--trusted-proxies", "127.0.0.2/32"},
                       {{"KWMSERVERD_LISTEN", "127.0.0.1:0"}, {"KWMSERVERD_MAX_CONNECTIONS_PER_ADDRESS", "1"}});
  const uint16_t port = wait_for_port(server);
  tcp_socket held(port);
  std::string buffer;
  held.send_all(build_http_request("GET", "/health-check", {}, {}, true));
  REQUIRE(read_http_reply(held, buffer).has_value());
  // 127.0.0.1 is at its cap: a second connection is closed unanswered.
  tcp_socket refused(port);
  CHECK(refused.wait_for_close(std::chrono::seconds(5)));
  // Two open connections of the trusted proxy 127.0.0.2: the forwarded clients count, not
  // the proxy, so the second is not refused.
  std::vector<tcp_socket> proxied;
  for (const char* client : {"192.0.2.1", "192.0.2.2"}) {
    proxied.push_back(tcp_socket::connect_from("127.0.0.2", port));
    proxied.back().send_all(build_http_request("GET", "/health-check", {{"X-Forwarded-For", client}}, {}, true));
    std::string reply_buffer;
    const auto reply = read_http_reply(proxied.back(), reply_buffer);
    REQUIRE(reply.has_value());
    CHECK(reply->status == 200);
  }
}

TEST_CASE("the metrics listener keeps the --http-* timeouts and its own --metrics-max-connections (N5)") {
  const auto metrics_port_of = [](child_process& server) {
    const auto log = server.wait_for_stderr(R"(msg="metrics listening")", std::chrono::seconds(10));
    REQUIRE(log.has_value());
    std::string port;
    REQUIRE(RE2::PartialMatch(*log, R"(msg="metrics listening" address=[^ ]*:(\d+))", &port));
    return static_cast<uint16_t>(std::stoi(port));
  };
  SUBCASE("at its cap the oldest idle connection makes room for a new one") {
    child_process server({binary, "serve", "--listen", "127.0.0.1:0", "--with-metrics", "--metrics-listen",
                          "127.0.0.1:0", "--metrics-max-connections", "2", "--http-read-header-timeout", "60"},
                         {});
    const uint16_t port = metrics_port_of(server);
    std::vector<tcp_socket> held;
    for (int i = 0; i < 2; ++i) {
      held.emplace_back(port);
      std::string buffer;
      held.back().send_all(build_http_request("GET", "/metrics", {}, {}, true));
      REQUIRE(read_http_reply(held.back(), buffer).has_value());
    }
    // A third is admitted by closing the oldest idle one (D20 eviction, as on the main port).
    tcp_socket third(port);
    std::string buffer;
    third.send_all(build_http_request("GET", "/metrics", {}, {}, true));
    const auto reply = read_http_reply(third, buffer);
    REQUIRE(reply.has_value());
    CHECK(reply->status == 200);
    CHECK(held.front().wait_for_close(std::chrono::seconds(10)));
  }
  SUBCASE("an unfinished request head is closed after --http-read-header-timeout") {
    child_process server({binary, "serve", "--listen", "127.0.0.1:0", "--with-metrics", "--metrics-listen",
                          "127.0.0.1:0", "--http-read-header-timeout", "1"},
                         {});
    tcp_socket slow(metrics_port_of(server));
    slow.send_all("GET /metrics HTTP/1.1\r\n");
    CHECK(slow.wait_for_close(std::chrono::seconds(8)));  // the default would be 10 s
  }
}
