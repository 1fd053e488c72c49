#pragma once
// The running server: the actor system, the io threads and the listener, wired together,
// with the shutdown order that keeps CAF 0.17 and Asio safe (stack notes §6).
#include <cstdint>
#include <memory>

#include "app/runtime_options.hpp"

namespace kwm::app {

class server_runtime {
 public:
  explicit server_runtime(runtime_options options);
  // Stops everything that still runs. Must run on the thread that constructed the
  // runtime (CAF 0.17 ties the actor system to it, stack notes P1).
  ~server_runtime();
  server_runtime(const server_runtime&) = delete;
  server_runtime& operator=(const server_runtime&) = delete;

  // Binds the listener and starts the io threads. Throws std::system_error.
  void start();
  uint16_t port() const;
  uint16_t metrics_port() const;  // 0 without --with-metrics

  // SIGINT and SIGTERM start a graceful shutdown; a second signal forces it. SIGHUP reloads
  // the TLS certificate and key.
  void handle_signals();
  // Graceful shutdown (thread-safe); a second call closes every socket at once.
  void request_shutdown();
  // Blocks until the io threads have finished, then stops every actor.
  void wait();

  std::size_t open_connections() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kwm::app
