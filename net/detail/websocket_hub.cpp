#include "net/detail/websocket_hub.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "net/detail/session_base.hpp"
#include "net/io_pool.hpp"

namespace kwm::net {

websocket_hub::websocket_hub(io_pool& pool_, const websocket_limits& limits)
    : pool(pool_), budget(limits.max_unfinished_bytes), tick(tick_period(limits)) {
  for (std::size_t i = 0; i < pool.size(); ++i) threads.push_back(std::make_unique<thread_slot>());
}

ws_clock::duration websocket_hub::tick_period(const websocket_limits& limits) {
  std::chrono::milliseconds shortest{250 * 4};
  for (auto d : {limits.ping_period, limits.pong_wait, limits.write_wait, limits.close_wait,
                 limits.handshake_timeout, limits.message_timeout})
    if (d.count() > 0) shortest = std::min(shortest, d);
  return std::max<ws_clock::duration>(shortest / 4, std::chrono::milliseconds(5));
}

std::shared_ptr<websocket_hub> make_websocket_hub(io_pool& pool, const websocket_limits& limits) {
  return std::make_shared<websocket_hub>(pool, limits);
}

void websocket_hub::deliver(std::size_t home, hub_member_ptr session, frame text,
                            uint64_t replaces) {
  auto& slot = *threads[home];
  bool post_drain = false;
  {
    std::lock_guard<std::mutex> guard(slot.mutex);
    slot.incoming.push_back({std::move(session), std::move(text), replaces});
    post_drain = !slot.drain_posted;
    slot.drain_posted = true;
  }
  if (!post_drain) return;
  asio::post(pool.context(home), [weak = weak_from_this(), home] {
    const auto hub = weak.lock();
    if (!hub) return;
    auto& slot = *hub->threads[home];
    std::vector<incoming_frame> batch;
    {
      std::lock_guard<std::mutex> guard(slot.mutex);
      batch.swap(slot.incoming);
      slot.drain_posted = false;
    }
    for (auto& item : batch) item.session->enqueue(std::move(item.text), item.replaces);
  });
}

void websocket_hub::add(std::size_t home, const hub_member_ptr& session) {
  auto& slot = *threads[home];
  slot.sessions.push_back({session.get(), session});
  if (slot.ticker) return;
  slot.ticker = std::make_unique<asio::steady_timer>(pool.context(home));
  arm_ticker(home);
}

void websocket_hub::remove(std::size_t home, const websocket_hub_member* session) {
  auto& sessions = threads[home]->sessions;
  const auto it =
      std::find_if(sessions.begin(), sessions.end(),
                   [session](const ticked_member& entry) { return entry.key == session; });
  if (it == sessions.end()) return;
  *it = std::move(sessions.back());
  sessions.pop_back();
}

void websocket_hub::on_tick(std::size_t home) {
  auto& slot = *threads[home];
  const auto now = ws_clock::now();
  // Backwards: a session that finishes removes itself by swapping in the last one, which
  // has been visited already.
  for (std::size_t i = slot.sessions.size(); i-- > 0;) {
    if (i >= slot.sessions.size()) continue;
    if (const auto session = slot.sessions[i].member.lock()) {
      session->on_tick(now);
    } else {
      slot.sessions[i] = std::move(slot.sessions.back());
      slot.sessions.pop_back();
    }
  }
  arm_ticker(home);
}

// The timer's handler holds the hub weakly: a wait that completed just before the hub ended
// (its timer was destroyed too late to cancel it) finds it gone.
void websocket_hub::arm_ticker(std::size_t home) {
  auto& slot = *threads[home];
  slot.ticker->expires_after(tick);
  slot.ticker->async_wait([weak = weak_from_this(), home](boost::system::error_code ec) {
    if (ec) return;
    if (const auto hub = weak.lock()) hub->on_tick(home);
  });
}

}  // namespace kwm::net
