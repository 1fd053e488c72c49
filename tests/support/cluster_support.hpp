#pragma once
// Running cluster code in tests: an io_context on its own thread (as the server's io
// threads run it) and a blocking wait for one asynchronous result.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "cluster/log.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/result.hpp"

namespace kwm::test {

class io_thread {
 public:
  io_thread() : guard_(boost::asio::make_work_guard(io)), thread_([this] { io.run(); }) {}
  // Everything using `io` must have been stopped (and destroyed) before.
  ~io_thread() {
    guard_.reset();
    thread_.join();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Starts an operation with a callback and waits for the callback's result.
template <class T, class Start>
cluster::result<T> await_result(Start start,
                                std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto promise = std::make_shared<std::promise<cluster::result<T>>>();
  auto future = promise->get_future();
  start([promise](cluster::result<T> outcome) { promise->set_value(std::move(outcome)); });
  if (future.wait_for(timeout) != std::future_status::ready)
    throw std::runtime_error("no result in time");
  return future.get();
}

// Waits for a callback without a result (stop()).
template <class Start>
void await_done(Start start, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  start([promise] { promise->set_value(); });
  if (future.wait_for(timeout) != std::future_status::ready)
    throw std::runtime_error("not done in time");
}

// Client options for tests: short back-off, so that recoveries happen within a second, and
// timeouts short enough for the tests but long enough for a loaded machine.
inline cluster::redis_client_options fast_redis_options(const std::string& url) {
  cluster::redis_client_options options;
  auto parsed = cluster::parse_redis_url(url);
  if (!parsed.endpoint) throw std::runtime_error("bad test URL " + url + ": " + parsed.error);
  options.endpoint = *parsed.endpoint;
  options.client_name = "kwmtest";
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.command_timeout = std::chrono::milliseconds(2000);
  options.queue_timeout = std::chrono::milliseconds(500);
  options.backoff_initial = std::chrono::milliseconds(20);
  options.backoff_max = std::chrono::milliseconds(200);
  options.health_interval = std::chrono::milliseconds(100);
  return options;
}

}  // namespace kwm::test
