#pragma once
// The TLS transport of the main listener (D24): the sessions' templates
// (net/detail/http_session.hpp, net/detail/websocket_session.hpp) over an OpenSSL stream,
// instantiated in tls_http_session.cpp and tls_websocket_session.cpp. Beast's ssl_stream
// coalesces small gathered writes into one TLS record; the stream moves from the HTTP session
// into the WebSocket session at the upgrade.
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <string>

namespace kwm::net {

struct server_state;

struct tls_transport {
  using http_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using socket = http_stream;  // the WebSocket session keeps the stream (never its timeouts)
  struct websocket_state {
    // Plaintext read from the stream, held while a read is outstanding (an OpenSSL read
    // cannot share the thread's buffer as plain sockets do: it may wait for more input).
    std::unique_ptr<char[]> read_buffer;
    // The bytes of the write in progress: a copy of the queue's next bytes, so that the queue
    // can change while the write is outstanding.
    std::string write_buffer;
  };

  // A new connection gets the context that is current at accept (a reload later does not
  // change it). Defined in tls_http_session.cpp.
  static http_stream open(boost::asio::ip::tcp::socket accepted, const server_state& state);
  static socket release(http_stream& stream) { return std::move(stream); }
};

}  // namespace kwm::net
