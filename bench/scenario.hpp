#pragma once
// What every kwmbench scenario is given, and the helpers they share.
#include <memory>
#include <string>
#include <vector>

#include "bench/event_loop.hpp"
#include "bench/frame_fields.hpp"
#include "bench/report.hpp"

namespace kwm::bench {

struct settings {
  server_target target;
  std::string scenario = "ping";
  std::string auth = "anonymous";
  int connections = 100;
  int window = 10;
  double duration = 5;
  int members = 50;
  int senders = 5;
  int server_pid = 0;
  double sample_every = 10;  // soak: seconds between samples
  // --ports: the nodes of a cluster; connection i goes to ports[i % size], so the two ends
  // of a relay pair (connections 2k, 2k+1) sit on different nodes. Empty: --port only.
  std::vector<uint16_t> ports;
};

// The Authorization header value for `user` under the chosen --auth mode ("" = anonymous).
std::string authorization_for(const settings& s, const std::string& user);

// Opens one connection per user and reads its hello; exits the process if one fails.
std::vector<std::unique_ptr<peer>> open_peers(settings& s, const std::vector<std::string>& users);

// Blocking read on a peer until a frame satisfies `wanted`; exits the process if the
// connection ends first (setup phases only).
void read_frame_until(peer& p, frame_scanner& scanner, frame_fields& fields,
                      const std::function<bool(const frame_fields&)>& wanted, const char* what);

// The measured part of a loop scenario: runs `l` for s.duration with `on_text`, counts the
// connections the server closes, prints the result; the exit status (0: messages counted
// and no connection lost).
int run_measured(loop& l, const settings& s, run_result& r, latency_histogram& latency,
                 const std::function<void(peer&, std::string_view)>& on_text);

// The server's resident set (KiB) and open descriptors, read from /proc; -1 if unknown.
long rss_kib(int pid);
long open_fds(int pid);

int ping(settings& s);          // bench/message_scenarios.cpp
int relay(settings& s);         // bench/message_scenarios.cpp
int group(settings& s);         // bench/group_scenario.cpp
int connect_rate(settings& s);  // bench/connection_scenarios.cpp
int idle(settings& s);          // bench/connection_scenarios.cpp
int soak(settings& s);          // bench/soak.cpp

}  // namespace kwm::bench
