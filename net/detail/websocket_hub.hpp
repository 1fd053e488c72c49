#pragma once
// What the WebSocket sessions of one listener share, per io thread and overall: the inbox for
// frames from other threads, the ticker that checks every session's deadlines, the receive
// buffer of the readiness-based (plain) sessions, and the budget of unfinished messages.
// Sessions of either transport (plain or TLS) take part through websocket_hub_member.
//
// Lifetimes: the hub belongs to the listener's state, which every session also holds, so the
// last session to end can end the hub, on any io thread, even inside a tick (at shutdown, once
// the listener is gone). Its own handlers therefore hold it only weakly (one that lost the
// race does nothing) and keep it alive while they run; the ticker holds each session weakly
// and keeps it alive while its deadlines are checked. Free of Beast.
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "net/detail/unfinished_budget.hpp"
#include "net/server_config.hpp"
#include "net/websocket_link.hpp"

namespace kwm::net {

class io_pool;

using ws_clock = std::chrono::steady_clock;

// A WebSocket session as the hub sees it. Called on the session's home io thread, except
// post_close (any thread).
class websocket_hub_member {
 public:
  virtual ~websocket_hub_member() = default;
  // `replaces`: frame_sink::send_replacing's key, 0 for a plain send.
  virtual void enqueue(frame text, uint64_t replaces) = 0;
  virtual void on_tick(ws_clock::time_point now) = 0;
  virtual void post_close(close_code code, std::string reason) = 0;
};

using hub_member_ptr = std::shared_ptr<websocket_hub_member>;

struct websocket_hub : std::enable_shared_from_this<websocket_hub> {
  // A session the ticker visits: the pointer finds it again, the weak reference keeps it
  // alive while it is visited (and tells a session that ended without leaving).
  struct ticked_member {
    websocket_hub_member* key;
    std::weak_ptr<websocket_hub_member> member;
  };

  struct incoming_frame {
    hub_member_ptr session;
    frame text;
    uint64_t replaces = 0;  // frame_sink::send_replacing's key; 0 for send
  };

  struct thread_slot {
    // Frames for this thread's sessions from other threads, drained in one handler.
    std::mutex mutex;
    std::vector<incoming_frame> incoming;
    bool drain_posted = false;
    // Open sessions of this thread, visited by the ticker for their deadlines.
    std::vector<ticked_member> sessions;
    std::unique_ptr<boost::asio::steady_timer> ticker;
    // Receive buffer shared by the thread's plain sessions (only one reads at a time).
    std::vector<char> read_buffer;
  };

  // Deadlines are checked on a tick; a fraction of the shortest one keeps them precise.
  static ws_clock::duration tick_period(const websocket_limits& limits);

  // Made with make_shared (its handlers hold it weakly); `limits` sets the tick.
  websocket_hub(io_pool& pool, const websocket_limits& limits);

  // Hands `text` to `session` on its home thread (from another thread).
  void deliver(std::size_t home, hub_member_ptr session, frame text, uint64_t replaces);
  // Home thread of the session: it is ticked from now on, until remove() (which finish()
  // calls; a session that is freed without it is skipped and dropped).
  void add(std::size_t home, const hub_member_ptr& session);
  void remove(std::size_t home, const websocket_hub_member* session);
  char* read_buffer(std::size_t home, std::size_t& size) {
    auto& buffer = threads[home]->read_buffer;
    if (buffer.empty()) buffer.resize(64 * 1024);
    size = buffer.size();
    return buffer.data();
  }

  // Open sessions of the thread (test hook: how many the ticker visits).
  std::size_t ticked(std::size_t home) const { return threads[home]->sessions.size(); }

  io_pool& pool;
  std::vector<std::unique_ptr<thread_slot>> threads;
  detail::unfinished_budget<const websocket_hub_member*, std::weak_ptr<websocket_hub_member>>
      budget;
  ws_clock::duration tick;

 private:
  void on_tick(std::size_t home);
  void arm_ticker(std::size_t home);
};

}  // namespace kwm::net
