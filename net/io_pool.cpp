#include "net/io_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace kwm::net {
namespace {

thread_local std::size_t current_io_thread = io_pool::not_an_io_thread;

// Restores the calling thread's identity when poll_stopped() borrows it.
struct borrowed_identity {
  explicit borrowed_identity(std::size_t index) : saved(current_io_thread) { current_io_thread = index; }
  ~borrowed_identity() { current_io_thread = saved; }
  std::size_t saved;
};

}  // namespace

struct io_pool::guard {
  explicit guard(boost::asio::io_context& io) : work(io.get_executor()) {}
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
};

io_pool::io_pool(std::size_t threads) {
  if (threads == 0) threads = 1;
  contexts_.reserve(threads);
  // Concurrency hint 1: each context is run by one thread only, which lets Asio keep
  // handlers posted from that thread in a thread-private queue.
  for (std::size_t i = 0; i < threads; ++i) contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
}

io_pool::~io_pool() { stop(); }

std::size_t io_pool::next_index() { return next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size(); }

std::size_t io_pool::current_index() { return current_io_thread; }

void io_pool::start(std::function<void(std::size_t)> on_thread) {
  if (!threads_.empty()) return;
  guards_.clear();
  for (auto& context : contexts_) {
    context->restart();
    guards_.push_back(std::make_unique<guard>(*context));
  }
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i, on_thread] {
      current_io_thread = i;
      if (on_thread) on_thread(i);
      contexts_[i]->run();
      current_io_thread = not_an_io_thread;
    });
  }
}

void io_pool::stop() {
  guards_.clear();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
}

std::size_t io_pool::poll_stopped() {
  std::size_t ran = 0;
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    borrowed_identity identity(i);
    contexts_[i]->restart();
    ran += contexts_[i]->poll();
  }
  return ran;
}

}  // namespace kwm::net
