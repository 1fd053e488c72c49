// HTTP sessions over TLS (D24): the stream is made from the context that is current at accept,
// the handshake shares the first request head's timeout, and a connection that ends after a
// response sends its close_notify first. The session logic is net/detail/http_session.hpp.
#include <openssl/ssl.h>

#include "net/detail/http_session.hpp"
#include "net/detail/tls_transport.hpp"
#include "net/tls_context.hpp"

namespace kwm::net {

tls_transport::http_stream tls_transport::open(asio::ip::tcp::socket accepted,
                                               const server_state& state) {
  return http_stream(std::move(accepted), *state.config.tls->current());
}

// A client that never finishes its handshake is a slowloris like one that never finishes its
// request head: both count against --http-read-header-timeout from accept, and the session is
// evictable meanwhile (D17, D20).
template <>
void http_session<tls_transport>::begin() {
  expire_after_start(limits().read_header_timeout);
  stream_.async_handshake(
      asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->close();  // plain HTTP, an old protocol version, garbage, a timeout
        self->read_header(self->request_started_);
      });
}

// The response is complete (it has a length), so the client's own close_notify is not waited
// for: ours goes out, then the lingering close drops whatever still arrives, undecrypted.
// Meanwhile it may be closed to make room at --max-connections.
template <>
void http_session<tls_transport>::end_connection() {
  busy_ = false;
  state_->table.make_evictable(*evictable_);
  SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
  lowest().expires_after(state_->config.websocket.write_wait);
  stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->linger(); });
}

// Only a client that sent its close_notify gets ours; one that just dropped TCP gets nothing.
template <>
void http_session<tls_transport>::end_after_client() {
  if ((SSL_get_shutdown(stream_.native_handle()) & SSL_RECEIVED_SHUTDOWN) == 0) return close();
  lowest().expires_after(state_->config.websocket.write_wait);
  stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close(); });
}

template void start_http_session<tls_transport>(std::shared_ptr<server_state> state,
                                                connection_slot slot, asio::ip::tcp::socket socket);

}  // namespace kwm::net
