// The WebSocket hub's ticker and the lifetimes around it: the hub belongs to the listener's
// state, which every session holds too, so the last session to end can end the hub (at
// shutdown, in any handler, even inside a tick), and a session can end inside its own tick.
// The io pool is not started: the test thread runs its handlers (poll_stopped), so what runs
// when is decided here. Each case failed under ASan (heap-use-after-free) before the hub held
// itself and its sessions weakly in its handlers.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "net/detail/websocket_hub.hpp"
#include "net/io_pool.hpp"

namespace {

using kwm::net::websocket_hub;

// Every deadline short, so that the hub ticks every 5 ms.
kwm::net::websocket_limits fast_ticks() {
  kwm::net::websocket_limits limits;
  limits.ping_period = limits.pong_wait = limits.write_wait = limits.close_wait =
      limits.handshake_timeout = limits.message_timeout = std::chrono::milliseconds(20);
  return limits;
}

struct ticked_session final : kwm::net::websocket_hub_member {
  std::function<void()> during_tick;
  int ticks = 0;
  int ticks_completed = 0;

  void enqueue(kwm::net::frame, uint64_t) override {}
  void on_tick(kwm::net::ws_clock::time_point) override {
    ++ticks;
    if (during_tick) during_tick();
    ++ticks_completed;  // touches the session after what it did in the tick
  }
  void post_close(kwm::net::close_code, std::string) override {}
};

// Runs the pool's handlers on this thread until `done` holds (10 s at most).
bool run_until(kwm::net::io_pool& pool, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    pool.poll_stopped();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("a WebSocket tick that ends the hub's last owner finishes on a live hub") {
  kwm::net::io_pool pool(1);
  auto hub = std::make_shared<websocket_hub>(pool, fast_ticks());
  const std::weak_ptr<websocket_hub> watched = hub;
  auto session = std::make_shared<ticked_session>();
  auto other = std::make_shared<ticked_session>();
  // As the last session of a listener that is gone: its end releases the listener's state.
  session->during_tick = [&] { hub.reset(); };
  hub->add(0, other);
  hub->add(0, session);  // visited first (the ticker goes backwards)

  REQUIRE(run_until(pool, [&] { return session->ticks > 0; }));
  CHECK(session->ticks_completed == 1);
  CHECK(other->ticks == 1);  // the rest of the tick still ran
  CHECK(watched.expired());  // and then the hub ended, with its timer
  pool.poll_stopped();       // the cancelled wait finds it gone
  CHECK(session->ticks == 1);
}

TEST_CASE("a WebSocket tick that was due when the hub ended does nothing") {
  kwm::net::io_pool pool(1);
  auto hub = std::make_shared<websocket_hub>(pool, fast_ticks());
  auto session = std::make_shared<ticked_session>();
  hub->add(0, session);
  // The ticker's wait is due but its handler has not run; a handler ahead of it in the same
  // turn ends the hub (the timer's destruction can no longer cancel a completed wait).
  std::this_thread::sleep_for(hub->tick * 4);
  boost::asio::post(pool.context(0), [&] { hub.reset(); });
  pool.poll_stopped();
  CHECK(hub == nullptr);
  CHECK(session->ticks == 0);
}

TEST_CASE("a WebSocket session that ends itself inside its tick lives until the tick is over") {
  kwm::net::io_pool pool(1);
  auto hub = std::make_shared<websocket_hub>(pool, fast_ticks());
  auto session = std::make_shared<ticked_session>();
  const std::weak_ptr<ticked_session> watched = session;
  // As a session's finish() drops the reference that kept it: the last one.
  session->during_tick = [&] { session.reset(); };
  hub->add(0, session);

  REQUIRE(run_until(pool, [&] { return watched.expired(); }));
  // Freed after its tick, not inside it (ASan would say otherwise); it never left, so a
  // later tick drops it.
  REQUIRE(run_until(pool, [&] { return hub->ticked(0) == 0; }));
}

TEST_CASE("a WebSocket session freed without leaving the ticker is skipped and dropped") {
  kwm::net::io_pool pool(1);
  auto hub = std::make_shared<websocket_hub>(pool, fast_ticks());
  auto freed = std::make_shared<ticked_session>();
  auto open = std::make_shared<ticked_session>();
  hub->add(0, open);
  hub->add(0, freed);
  freed.reset();

  REQUIRE(run_until(pool, [&] { return open->ticks > 0; }));
  CHECK(hub->ticked(0) == 1);
  hub->remove(0, open.get());
  CHECK(hub->ticked(0) == 0);
}
