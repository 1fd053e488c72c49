#pragma once
// The real kwmserverd binary (KWM_SERVER_BINARY) as a child process on an ephemeral loopback
// port, for tests that may crash, starve or bloat it: its liveness, exit status, log and
// memory (/proc/<pid>/status) stay observable from the test, which the in-process
// server_fixture cannot offer.
#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/process.hpp"
#include "support/raw_client.hpp"

namespace kwm::test {

// True when this test binary (and so the server next to it) is built with ASan.
bool sanitized_build();

// Raises this process's soft descriptor limit to the hard limit (children inherit it).
void raise_descriptor_limit();

// While alive, processes started by this one get `soft` as their descriptor limit.
class scoped_descriptor_limit {
 public:
  explicit scoped_descriptor_limit(size_t soft);
  ~scoped_descriptor_limit();
  scoped_descriptor_limit(const scoped_descriptor_limit&) = delete;
  scoped_descriptor_limit& operator=(const scoped_descriptor_limit&) = delete;

 private:
  size_t previous_ = 0;
};

class server_process {
 public:
  // Starts `kwmserverd serve --listen 127.0.0.1:0` plus `flags` and waits until it listens.
  // A flag the binary does not know fails the test with a message naming it, unless
  // KWM_HOSTILE_ALLOW_MISSING_FLAGS=1 is set: then such flags (and their values) are left out
  // and reported, so that the attack can still be run against an older binary.
  explicit server_process(std::vector<std::string> flags);
  // Stops the server (stop()) and fails the running test when it did not end cleanly.
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  uint16_t port() const { return port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  pid_t pid() const;
  // False once the process has exited (then exit_status() says how: 128 + signal if killed).
  bool alive();
  std::optional<int> exit_status();
  // SIGTERM, then SIGKILL after 30 s (90 s under the sanitizers). Returns "" when the server ended
  // cleanly (status 0) or had been killed with SIGKILL (tests do that on purpose), and otherwise
  // how it ended with the end of its log: a sanitizer report aborts the server
  // (scripts/sanitizers/) or makes it exit non-zero (LeakSanitizer) at shutdown, after every
  // assertion of the test has passed.
  std::string stop();
  // "is alive", "exited with status N" or "was killed by signal N (SIGSEGV)": for messages.
  // Waits a moment first, so that a crash in progress is seen as one.
  std::string state();
  std::string log();
  // Flags left out because the binary did not know them (see the constructor).
  const std::vector<std::string>& missing_flags() const { return missing_; }

  // From /proc/<pid>/status, in KiB: VmRSS now and VmHWM (the peak since start); 0 once gone.
  size_t rss_kib();
  size_t peak_rss_kib();
  // CPU time (user + system) the process has used so far, from /proc/<pid>/stat; 0 once gone.
  double cpu_seconds();

  // One request on a fresh connection (http_call); no answer fails the test with the server's
  // state, so that a crash reads as one.
  http_reply call(const std::string& method, const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& headers = {},
                  const std::string& body = {});

  // Token auth when the server was started with --admin-tokens-key, anonymous otherwise.
  bool token_auth() const { return token_auth_; }
  // Started with --tls-cert: call, connect and open speak HTTPS and WSS (support/tls_client.hpp).
  bool tls() const { return tls_; }
  // A connection to the server, TLS started when tls().
  tcp_socket dial(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                  int receive_buffer = 0);
  // A connect call for `user` (with a Token from the admin API when token_auth()); the reply.
  http_reply connect(const std::string& user);
  // As connect(), requiring 200, and returns the WebSocket path.
  std::string connect_path(const std::string& user);
  // Connect + WebSocket upgrade, hello read and checked. Any failure fails the test with
  // the server's state.
  std::unique_ptr<ws_client> open(const std::string& user, int receive_buffer = 0);

 private:
  void pump_output();

  std::string log_tail() const;  // the last 16 KiB of stderr, where a sanitizer report ends up

  std::unique_ptr<child_process> child_;
  mutable std::mutex mutex_;  // guards child_'s buffers between the pump thread and the test
  std::thread pump_;
  bool stopping_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
  bool token_auth_ = false;
  bool tls_ = false;
  std::vector<std::string> missing_;
};

// A memory budget for one attack: the server's RSS may grow by at most `allowance_mib` (times
// a factor for sanitizer builds, whose allocations carry redzones) over the RSS when the budget
// was set. Attack loops poll exceeded() and stop early, so a server without the protection
// fails the test instead of eating the machine.
class memory_budget {
 public:
  memory_budget(server_process& server, size_t allowance_mib);
  size_t baseline_kib() const { return baseline_kib_; }
  size_t limit_kib() const { return limit_kib_; }
  // Samples VmRSS and the peak; true once the peak passed the limit. Thread-safe.
  bool exceeded();
  // CHECKs the peak during and the RSS after the attack against the limit, and reports them.
  void check(const std::string& attack);

 private:
  server_process& server_;
  size_t baseline_kib_ = 0;
  size_t limit_kib_ = 0;
  std::atomic<size_t> highest_sample_kib_{0};
};

}  // namespace kwm::test
