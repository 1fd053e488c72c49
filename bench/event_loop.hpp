#pragma once
// The load generator's plumbing shared by every scenario: blocking helpers for setup phases
// and an edge-triggered epoll loop over many connections.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/rtm_client.hpp"

namespace kwm::bench {

using clock_type = std::chrono::steady_clock;

uint64_t now_ns();
clock_type::time_point after_seconds(double seconds);

// Blocking read of text frames until `done` returns true (setup phases only).
bool read_until(link& connection, frame_reader& reader, const std::function<bool(std::string_view)>& done);
void send_blocking(link& connection, const std::string& bytes);

// One connection in the epoll loop. `index` lets a scenario find its own bookkeeping.
struct peer {
  link connection;
  unsigned generation = 0;  // bumped by loop::replace, so stale readiness is recognised
  std::size_t index = 0;
  frame_reader reader;
  std::string pending;  // frames not yet accepted by the kernel
  bool flush_queued = false;
  std::string target, state, channel, hash;
};

class loop {
 public:
  struct callbacks {
    std::function<void(peer&, std::string_view)> on_text = {};  // every text frame
    std::function<void(peer&)> on_closed =
        {};  // once when the server closes a connection (close frame, EOF, error)
    std::function<void()> on_tick = {};  // after every batch of readiness, at least every 50 ms
    std::function<bool()> done = {};     // checked after every batch; true ends the run
  };

  loop();
  ~loop();
  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;

  void add(peer& p);
  // Closes the peer's connection and continues with `fresh` in its place.
  void replace(peer& p, link fresh);

  // Queues a text frame. Frames queued while a batch of readiness events is handled go out
  // together, one write per connection per batch, so the client's cost per message stays
  // small next to the server's (what a benchmark wants to see).
  void send(peer& p, std::string_view payload);
  // The same for bytes that are already framed.
  void send_frames(peer& p, std::string_view frames);

  // Runs until `deadline` or until callbacks.done() is true; returns whether done() ended it.
  bool run(clock_type::time_point deadline, const callbacks& c);

  // When the last text frame arrived (for "wait until quiet").
  clock_type::time_point last_frame() const { return last_frame_; }

 private:
  void queue_flush(peer& p);
  void flush(peer& p);
  void flush_queued();

  int epoll_;
  std::vector<peer*> to_flush_;
  clock_type::time_point last_frame_ = clock_type::now();
};

}  // namespace kwm::bench
