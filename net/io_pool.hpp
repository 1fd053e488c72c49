#pragma once
// The io threads: one io_context per thread, each run by exactly that thread, so everything
// that belongs to one connection (its socket, timers, and the actors the io scheduler runs
// there) stays on one core without strands or locks. New connections are spread over the
// contexts round-robin. Nothing here names Beast.
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace kwm::net {

class io_pool {
 public:
  static constexpr std::size_t not_an_io_thread = static_cast<std::size_t>(-1);

  explicit io_pool(std::size_t threads);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(std::size_t index) { return *contexts_[index]; }
  // The context for the next new connection (round-robin).
  std::size_t next_index();

  // The index of the pool context the calling thread runs, or not_an_io_thread.
  static std::size_t current_index();

  // Runs every context on its own thread until stop(). `on_thread` runs first on each
  // thread, with its index (the io scheduler binds its execution units there).
  void start(std::function<void(std::size_t)> on_thread = {});
  // Stops every context and joins the threads. Handlers not run yet stay queued.
  void stop();
  bool running() const { return !threads_.empty(); }
  // After stop(): runs the handlers that are ready on the calling thread, as if it were
  // the io thread of each context in turn. Returns how many ran.
  std::size_t poll_stopped();

 private:
  struct guard;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::unique_ptr<guard>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace kwm::net
