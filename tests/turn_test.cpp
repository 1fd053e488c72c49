// TURN credentials against a real TURN server: Debian's coturn with the same shared
// secret must allocate a relay with the credentials of /rtm/turn and refuse a tampered
// password. The test starts coturn itself on loopback.
//
// Reliability under parallel load (issue 13): turnutils_uclient sends each STUN request once
// and then blocks in recv() without a timeout, so one datagram that coturn drops or does not
// yet answer while it is still starting hangs the client for good (seen as a 30 s timeout
// in `ctest -j2`). coturn also listens on TCP by default, on the same port number, which the
// test only checked to be free for UDP, and it retries a taken TCP port for a minute. So:
// coturn runs UDP only (--no-tcp), its relay ports lie below the kernel's ephemeral range,
// readiness is a STUN Binding request that coturn answered (not a log line printed before
// its auth threads run), and a client that hangs is ended and started again, as the
// retransmission RFC 5389 requires of UDP clients would have done.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "support/process.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

namespace {

// One allocation attempt ends within this (a run takes 2 to 7 s: the client waits a random
// 1 to 6 s before it sends its data); attempts that hang are retried.
constexpr auto attempt_timeout = std::chrono::seconds(20);
constexpr int attempts = 3;

run_result allocate(uint16_t port, const std::string& user, const std::string& password) {
  run_result result;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    result =
        run_binary({"/usr/bin/turnutils_uclient", "-p", std::to_string(port), "-u", user, "-w",
                    password, "-n", "1", "-m", "1", "-c", "-y", "-e", "127.0.0.1", "127.0.0.1"},
                   attempt_timeout);
    if (result.status != -1) return result;  // finished, successfully or not
    MESSAGE("turnutils_uclient hung (attempt " << attempt << "), output so far:\n"
                                               << result.out << result.err);
  }
  return result;
}

// A port range of `size` below the kernel's ephemeral ports, so that no client socket of a
// parallel test can hold one of them.
int relay_base(int size) {
  int low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
  std::mt19937 random{std::random_device{}()};
  const int top = std::max(2048, low - size - 1);
  return 1024 + static_cast<int>(random() % static_cast<unsigned>(top - 1024));
}

// Sends STUN Binding requests to `port` until one is answered: coturn is then serving UDP.
bool stun_answers(uint16_t port, std::chrono::seconds patience) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Binding request: type 0x0001, length 0, the magic cookie, a 12-byte transaction id.
  const unsigned char request[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 'k', 'w',
                                     'm',  '-',  't',  'u',  'r',  'n',  '-',  'p',  'r', 'b'};
  const auto deadline = std::chrono::steady_clock::now() + patience;
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    ::sendto(fd, request, sizeof request, 0, reinterpret_cast<sockaddr*>(&address), sizeof address);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) == 1) {
      unsigned char answer[512];
      const auto n = ::recv(fd, answer, sizeof answer, 0);
      answered = n >= 20 && answer[0] == 0x01 && answer[1] == 0x01 &&
                 std::equal(request + 8, request + 20, answer + 8);
    }
  }
  ::close(fd);
  return answered;
}

}  // namespace

TEST_CASE("credentials from /rtm/turn allocate a relay on coturn, a tampered password does not") {
  if (!std::filesystem::exists("/usr/bin/turnserver") ||
      !std::filesystem::exists("/usr/bin/turnutils_uclient")) {
    MESSAGE(
        "coturn is not installed (scripts/install-deps.sh installs it): TURN allocation not "
        "tested");
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

  const auto directory =
      std::filesystem::temp_directory_path() / ("kwm-turn-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  const int base = relay_base(100);
  child_process coturn({"/usr/bin/turnserver", "-n", "--listening-ip=127.0.0.1",
                        "--listening-port=" + std::to_string(turn_port), "--no-tcp", "--no-tls",
                        "--no-dtls", "--no-tcp-relay", "--use-auth-secret",
                        "--static-auth-secret=kwm-test-secret", "--realm=kwm.test",
                        "--relay-ip=127.0.0.1", "--min-port=" + std::to_string(base),
                        "--max-port=" + std::to_string(base + 100), "--allow-loopback-peers",
                        "--no-cli", "--log-file=stdout", "--db=" + (directory / "turndb").string(),
                        "--pidfile=" + (directory / "turn.pid").string()});
  const bool ready = stun_answers(turn_port, std::chrono::seconds(30));
  coturn.pump(std::chrono::milliseconds(0));
  REQUIRE_MESSAGE(ready, "coturn did not answer a STUN Binding request on UDP " << turn_port
                                                                                << ":\n"
                                                                                << coturn.out);

  const auto good = allocate(turn_port, username, password);
  INFO("turnutils_uclient: " << good.out << good.err);
  CHECK(good.status == 0);
  CHECK(good.out.find("Cannot complete Allocation") == std::string::npos);
  // The summary line counts the messages relayed back through the allocation.
  const auto summary = good.out.rfind("tot_recv_msgs=");
  REQUIRE(summary != std::string::npos);
  CHECK(std::stoi(good.out.substr(summary + 14)) > 0);

  std::string tampered = password;
  tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
  const auto bad = allocate(turn_port, username, tampered);
  INFO("turnutils_uclient with a tampered password: " << bad.out << bad.err);
  CHECK(bad.status != 0);
  CHECK(bad.out.find("Cannot complete Allocation") != std::string::npos);

  std::filesystem::remove_all(directory);
}
