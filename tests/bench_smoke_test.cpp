// A quick run of every kwmbench scenario against a real server, so the tool keeps
// working. Nothing about speed is asserted here; bench/ and docs/performance.md do that.
#include <doctest/doctest.h>
#include <unistd.h>

#include "support/process.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

TEST_CASE("kwmbench runs every scenario against the server") {
  auto options = test_options();
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);
  const std::string port = std::to_string(server.port());
  const std::vector<std::vector<std::string>> runs = {
      {"--scenario", "ping", "--connections", "4", "--window", "2"},
      {"--scenario", "relay", "--connections", "4", "--window", "2"},
      {"--scenario", "group", "--members", "4", "--senders", "2", "--window", "2"},
      {"--scenario", "connect", "--window", "2"},
      {"--scenario", "idle", "--connections", "4", "--server-pid", std::to_string(::getpid())},
  };
  for (const auto& run : runs) {
    CAPTURE(run[1]);
    std::vector<std::string> args = {KWM_BENCH_BINARY, "--port", port, "--duration", "0.5"};
    args.insert(args.end(), run.begin(), run.end());
    const auto result = run_binary(args, std::chrono::seconds(30));
    CHECK(result.status == 0);
    CHECK(result.out.find("| " + run[1]) != std::string::npos);
  }
}
