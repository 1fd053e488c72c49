#pragma once
// Internals shared by the Beast translation units of the listener and its sessions. Not part
// of the net/ interface.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "net/detail/connection_table.hpp"
#include "net/http_types.hpp"
#include "net/router.hpp"
#include "net/server_config.hpp"

namespace kwm::net {

namespace beast = boost::beast;
namespace asio = boost::asio;
namespace http = boost::beast::http;

class session_base {
 public:
  virtual ~session_base() = default;
  // Graceful shutdown of this session; called on its io thread.
  virtual void shutdown() = 0;
  // Immediate close of the socket; called on its io thread.
  virtual void terminate() = 0;
};

class io_pool;
struct websocket_hub;  // what the WebSocket sessions share (websocket_session.cpp)
std::shared_ptr<websocket_hub> make_websocket_hub(io_pool& pool, const websocket_limits& limits);

struct server_state {
  server_state(server_config config_, router routes_);

  server_config config;
  router routes;
  io_pool* pool = nullptr;
  std::shared_ptr<websocket_hub> websockets;
  connection_table table;
  std::atomic<std::size_t> open_websockets{0};
  std::atomic<bool> stopping{false};
  // Stopping, but the listener stays open and every new request is answered 503 (begin_drain).
  std::atomic<bool> answering_while_stopping{false};

  void track(const std::shared_ptr<session_base>& session, asio::any_io_executor executor);
  void untrack(const session_base* session);
  // Runs `action` on the io thread of every live session.
  void for_each_session(void (session_base::*action)());

 private:
  struct entry {
    std::weak_ptr<session_base> session;
    asio::any_io_executor executor;
  };
  std::mutex mutex_;
  std::unordered_map<const session_base*, entry> sessions_;
};

// One admitted TCP connection's place in the connection table; it moves with the socket into
// a WebSocket session and is given back when the last owner ends.
class connection_slot {
 public:
  // `address`: what the connection was admitted under (nullopt for a trusted proxy).
  connection_slot(std::shared_ptr<server_state> state, std::optional<address_key> address)
      : state_(std::move(state)), address_(address) {}
  connection_slot(connection_slot&& other) noexcept
      : state_(std::move(other.state_)), address_(std::exchange(other.address_, std::nullopt)) {}
  connection_slot& operator=(connection_slot&&) = delete;
  ~connection_slot() {
    if (state_) state_->table.release(address_);
  }

  // For a connection from a trusted proxy: counts it under the client the current request
  // comes from; false (and counted under nothing) when that client is at its cap.
  bool attribute_to(const address_key& client) {
    end_attribution();
    if (!state_->table.claim(client)) return false;
    address_ = client;
    return true;
  }
  void end_attribution() {
    if (address_) state_->table.unclaim(*std::exchange(address_, std::nullopt));
  }

 private:
  std::shared_ptr<server_state> state_;
  std::optional<address_key> address_;
};

inline std::string_view to_std(beast::string_view text) { return {text.data(), text.size()}; }

peer_address to_peer_address(const asio::ip::tcp::endpoint& endpoint);

struct plain_transport;  // net/detail/plain_transport.hpp
struct tls_transport;    // net/detail/tls_transport.hpp

// Starts the HTTP session of an admitted connection (its socket already belongs to the io
// thread the connection will live on). Instantiated for plain_transport in http_server.cpp and for
// tls_transport in tls_http_session.cpp.
template <class Transport>
void start_http_session(std::shared_ptr<server_state> state, connection_slot slot, asio::ip::tcp::socket socket);

// Hands an upgrade request on a WebSocket route to a new WebSocket session on the calling
// io thread, which then calls the route's handler. `early_input` holds what the client sent
// after the request head (frames may come in the same packet). Instantiated in
// websocket_session.cpp (plain) and tls_websocket_session.cpp.
template <class Transport>
void start_websocket_session(std::shared_ptr<server_state> state, connection_slot slot,
                             typename Transport::socket socket, std::string early_input,
                             http::request<http::string_body> request, http_request plain_request,
                             const route& matched, std::string parameter);

}  // namespace kwm::net
