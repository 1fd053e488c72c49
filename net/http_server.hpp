#pragma once
// The main listener: HTTP routing and WebSocket sessions on one port. Beast lives only
// in the .cpp files behind this pimpl, so including this header costs nothing.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/router.hpp"
#include "net/server_config.hpp"

namespace kwm::net {

class io_pool;
struct server_state;

class http_server {
 public:
  // Connections are spread over the pool's threads; the pool must outlive the server.
  http_server(io_pool& pool, server_config config, router routes);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds and starts accepting. Throws std::system_error when the address is unusable.
  void start();
  uint16_t port() const;

  // Stops accepting; idle HTTP connections close, requests in progress finish; every
  // WebSocket gets its farewell frame and close 1001. Thread-safe.
  void begin_shutdown();
  // As begin_shutdown, but the listener stays open: every request that arrives from now on is
  // answered `503 shutting down` (Retry-After: 1) and its connection closed, /health-check
  // included, so that a load balancer's health check sees the server going while it drains.
  // stop_accepting() closes the listener (on the pool's first thread, where it accepts).
  void begin_drain();
  void stop_accepting();
  // Closes every remaining socket at once (after the drain deadline). Thread-safe.
  void force_close();

  std::size_t open_connections() const;  // HTTP and WebSocket
  std::size_t open_websockets() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kwm::net
