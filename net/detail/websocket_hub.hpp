#pragma once
// What the WebSocket sessions of one listener share, per io thread and overall: the inbox for
// frames from other threads, the ticker that checks every session's deadlines, the receive
// buffer of the readiness-based (plain) sessions, and the budget of unfinished messages.
// Sessions of either transport (plain or TLS) take part through websocket_hub_member.
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "net/detail/session_base.hpp"
#include "net/detail/unfinished_budget.hpp"
#include "net/websocket_link.hpp"

namespace kwm::net {

using ws_clock = std::chrono::steady_clock;

// A WebSocket session as the hub sees it. Called on the session's home io thread, except
// post_close (any thread).
class websocket_hub_member : public session_base {
 public:
  virtual void enqueue(frame text) = 0;
  virtual void on_tick(ws_clock::time_point now) = 0;
  virtual void post_close(close_code code, std::string reason) = 0;
};

using hub_member_ptr = std::shared_ptr<websocket_hub_member>;

struct websocket_hub {
  struct thread_slot {
    // Frames for this thread's sessions from other threads, drained in one handler.
    std::mutex mutex;
    std::vector<std::pair<hub_member_ptr, frame>> incoming;
    bool drain_posted = false;
    // Open sessions of this thread, visited by the ticker for their deadlines.
    std::vector<websocket_hub_member*> sessions;
    std::unique_ptr<asio::steady_timer> ticker;
    // Receive buffer shared by the thread's plain sessions (only one reads at a time).
    std::vector<char> read_buffer;
  };

  websocket_hub(io_pool& pool, const websocket_limits& limits);

  // Deadlines are checked on a tick; a fraction of the shortest one keeps them precise.
  static ws_clock::duration tick_period(const websocket_limits& limits);

  void deliver(std::size_t home, hub_member_ptr session, frame text);
  void add(std::size_t home, websocket_hub_member* session);
  void remove(std::size_t home, websocket_hub_member* session);
  void on_tick(std::size_t home);
  void arm_ticker(std::size_t home);
  char* read_buffer(std::size_t home, std::size_t& size) {
    auto& buffer = threads[home]->read_buffer;
    if (buffer.empty()) buffer.resize(64 * 1024);
    size = buffer.size();
    return buffer.data();
  }

  io_pool& pool;
  std::vector<std::unique_ptr<thread_slot>> threads;
  detail::unfinished_budget<const websocket_hub_member*, std::weak_ptr<websocket_hub_member>>
      budget;
  ws_clock::duration tick;
};

}  // namespace kwm::net
