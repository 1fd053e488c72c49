// The harness that runs kwmserverd as a child process for the end-to-end suites: how a server
// ended is part of every test's verdict, so that a sanitizer report at shutdown (after every
// assertion passed) cannot go unseen.
#include <signal.h>

#include <doctest/doctest.h>

#include "support/server_process.hpp"

using kwm::test::server_process;

TEST_CASE("server_process: a server that ends cleanly on SIGTERM gives no verdict") {
  server_process server({});
  CHECK(server.stop().empty());
  CHECK(server.exit_status() == 0);
  CHECK(server.stop().empty());  // stopping twice is harmless
}

TEST_CASE(
    "server_process: an aborted server (a sanitizer report aborts) is reported with its log") {
  server_process server({});
  ::kill(server.pid(), SIGABRT);
  const std::string verdict = server.stop();
  CHECK(verdict.find("was killed by signal 6") != std::string::npos);
  CHECK(verdict.find("listening") != std::string::npos);  // the log's tail comes with it
}

TEST_CASE("server_process: a server killed with SIGKILL on purpose gives no verdict") {
  server_process server({});
  ::kill(server.pid(), SIGKILL);
  CHECK(server.stop().empty());
}
