#pragma once
// The plain transport of the main listener: TCP as it is. The sessions are templates over a
// transport (net/detail/http_session.hpp, net/detail/websocket_session.hpp); this one is the
// fast path that was there before TLS, instantiated in http_server.cpp and
// websocket_session.cpp. The TLS transport is net/detail/tls_transport.hpp.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace kwm::net {

struct server_state;

struct plain_transport {
  // An HTTP session reads and writes through Beast's stream with its timeouts ...
  using http_stream = boost::beast::tcp_stream;
  // ... and a WebSocket session works on the bare socket (readiness and writev).
  using socket = boost::asio::ip::tcp::socket;
  struct websocket_state {};

  static http_stream open(socket accepted, const server_state&) {
    return http_stream(std::move(accepted));
  }
  static socket release(http_stream& stream) { return stream.release_socket(); }
};

}  // namespace kwm::net
