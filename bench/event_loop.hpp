#pragma once
// The load generator's plumbing shared by every scenario: blocking helpers for setup phases
// and an edge-triggered epoll loop over many connections.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bench/rtm_client.hpp"

namespace kwm::bench {

using clock_type = std::chrono::steady_clock;

uint64_t now_ns();
clock_type::time_point after_seconds(double seconds);

uint64_t number_after(std::string_view text, std::string_view key);
std::string string_after(std::string_view text, std::string_view key);

// Blocking read of text frames until `done` returns true (setup phases only).
bool read_until(int fd, frame_reader& reader, const std::function<bool(std::string_view)>& done);
void send_blocking(int fd, const std::string& bytes);

// One connection in the epoll loop. `index` lets a scenario find its own bookkeeping.
struct peer {
  int fd = -1;
  unsigned generation = 0;  // bumped by loop::replace, so stale readiness is recognised
  std::size_t index = 0;
  frame_reader reader;
  std::string pending;  // bytes not yet accepted by the kernel
  std::string target, state, channel, hash;
};

class loop {
 public:
  using text_handler = std::function<void(peer&, std::string_view)>;
  using closed_handler = std::function<void(peer&)>;
  using tick_handler = std::function<void()>;

  loop();
  ~loop();
  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;

  void add(peer& p);
  // Closes the peer's socket and continues with `fd` (a fresh connection) in its place.
  void replace(peer& p, int fd);
  static void send(peer& p, const std::string& frame);

  // Runs until `deadline`: on_text for every text frame, on_closed once when the server
  // closes a connection (close frame, EOF or error), on_tick at least every 50 ms.
  void run(clock_type::time_point deadline, const text_handler& on_text, const closed_handler& on_closed = {},
           const tick_handler& on_tick = {});

 private:
  int epoll_;
};

}  // namespace kwm::bench
