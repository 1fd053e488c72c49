// TURN credentials against a real TURN server: Debian's coturn with the same shared
// secret must allocate a relay with the credentials of /rtm/turn and refuse a tampered
// password. The test starts coturn itself on loopback.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "support/process.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

namespace {


run_result allocate(uint16_t port, const std::string& user, const std::string& password) {
  return run_binary({"/usr/bin/turnutils_uclient", "-p", std::to_string(port), "-u", user, "-w", password, "-n", "1",
                     "-m", "1", "-e", "127.0.0.1", "-r", std::to_string(free_loopback_port(SOCK_DGRAM)), "-y", "127.0.0.1"},
                    std::chrono::seconds(30));
}

}  // namespace

TEST_CASE("credentials from /rtm/turn allocate a relay on coturn, a tampered password does not") {
  if (!std::filesystem::exists("/usr/bin/turnserver") || !std::filesystem::exists("/usr/bin/turnutils_uclient")) {
    MESSAGE("coturn is not installed (scripts/install-deps.sh installs it): TURN allocation not tested");
    return;
  }
  const uint16_t turn_port = free_loopback_port(SOCK_DGRAM);
  auto options = test_options();
  options.rtm.turn.shared_secret = "kwm-test-secret";
  options.rtm.turn.uris = {"turn:127.0.0.1:" + std::to_string(turn_port) + "?transport=udp"};
  server_fixture server(options);

  const auto reply = http_call(server.port(), "POST", "/api/kwm/v2/rtm/turn?user=alice");
  REQUIRE(reply.status == 200);
  const auto answer = parse_json(reply.body);  // the document owns what `turn` points into
  const auto& turn = answer["turn"];
  const std::string username = turn["username"].GetString();
  const std::string password = turn["password"].GetString();

  const auto directory = std::filesystem::temp_directory_path() / ("kwm-turn-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  std::mt19937 random{std::random_device{}()};
  const int relay_base = 50000 + static_cast<int>(random() % 10000);
  child_process coturn({"/usr/bin/turnserver", "-n", "--listening-ip=127.0.0.1",
                        "--listening-port=" + std::to_string(turn_port), "--use-auth-secret",
                        "--static-auth-secret=kwm-test-secret", "--realm=kwm.test", "--no-tls", "--no-dtls",
                        "--relay-ip=127.0.0.1", "--min-port=" + std::to_string(relay_base),
                        "--max-port=" + std::to_string(relay_base + 100), "--allow-loopback-peers", "--no-cli",
                        "--log-file=stdout", "--db=" + (directory / "turndb").string(),
                        "--pidfile=" + (directory / "turn.pid").string()});
  // coturn logs to stdout; wait until its servers are up.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (coturn.out.find("Total General servers") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    coturn.wait_for_stderr("\x01never", std::chrono::milliseconds(100));
  REQUIRE_MESSAGE(coturn.out.find("Total General servers") != std::string::npos, coturn.out);

  const auto good = allocate(turn_port, username, password);
  CHECK(good.status == 0);
  CHECK(good.out.find("Cannot complete Allocation") == std::string::npos);
  // The summary line counts the messages relayed back through the allocation.
  const auto summary = good.out.rfind("tot_recv_msgs=");
  REQUIRE(summary != std::string::npos);
  CHECK(std::stoi(good.out.substr(summary + 14)) > 0);

  std::string tampered = password;
  tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
  const auto bad = allocate(turn_port, username, tampered);
  CHECK(bad.out.find("Cannot complete Allocation") != std::string::npos);

  std::filesystem::remove_all(directory);
}
