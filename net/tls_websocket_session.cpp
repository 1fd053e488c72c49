// The WebSocket session over TLS (D24). OpenSSL keeps state between the socket and the
// plaintext, so this transport does not wait for readiness and touch the descriptor itself as
// the plain one does: it reads and writes through the ssl stream's asynchronous operations,
// at most one read and one write outstanding. A write takes a copy of the queue's next bytes
// (at most write_chunk) so that the queue, and its bounds, work exactly as for plain sockets.
#include <boost/asio/write.hpp>

#include "net/detail/tls_transport.hpp"
#include "net/detail/websocket_session.hpp"

namespace kwm::net {

using tls_session = websocket_session<tls_transport>;

namespace {

// Plaintext per read: one TLS record at most.
constexpr std::size_t read_chunk = 16 * 1024;
// Bytes per write: four records, so a burst of small frames costs one write and a large
// frame is encrypted while the next part waits.
constexpr std::size_t write_chunk = 64 * 1024;
// A write buffer larger than this is released once the queue is empty: an idle connection
// keeps only a small one.
constexpr std::size_t kept_write_capacity = 4 * 1024;

}  // namespace

// Every specialised member is declared before any of them is used.
template <>
void tls_session::open_transport();
template <>
void tls_session::arm_read();
template <>
void tls_session::flush();
template <>
void tls_session::hard_close();
template <>
void tls_session::on_read(const beast::error_code& ec, std::size_t bytes);
template <>
void tls_session::on_written(const beast::error_code& ec);

template <>
void tls_session::open_transport() {}

template <>
void tls_session::arm_read() {
  if (read_armed_ || paused_.load(std::memory_order_relaxed) || phase_ == phase::done) return;
  read_armed_ = true;
  auto& buffer = transport_state_.read_buffer;
  if (!buffer) buffer = std::make_unique_for_overwrite<char[]>(read_chunk);
  socket_.async_read_some(
      asio::buffer(buffer.get(), read_chunk),
      [self = this->shared_from_this()](beast::error_code ec, std::size_t bytes) {
        self->on_read(ec, bytes);
      });
}

template <>
void tls_session::on_read(const beast::error_code& ec, std::size_t bytes) {
  read_armed_ = false;
  if (phase_ == phase::done) return;
  if (ec) return connection_lost();
  if (!consume(transport_state_.read_buffer.get(), bytes)) return;
  arm_read();
}

template <>
void tls_session::flush() {
  if (write_waiting_ || phase_ == phase::pending || phase_ == phase::done) return;
  if (out_head_ >= out_.size()) return on_queue_written();
  auto& pending = transport_state_.write_buffer;
  pending.clear();
  while (out_head_ < out_.size() && pending.size() < write_chunk) {
    gathered_buffers buffers;
    gathered_headers headers;
    const std::size_t count = gather(buffers, headers);
    std::size_t copied = 0;
    for (std::size_t i = 0; i < count && pending.size() < write_chunk; ++i) {
      const std::size_t take = std::min(buffers[i].size(), write_chunk - pending.size());
      pending.append(static_cast<const char*>(buffers[i].data()), take);
      copied += take;
    }
    account_written(copied);  // the copy owns these bytes now
  }
  if (write_blocked_since_ == clock::time_point{}) write_blocked_since_ = clock::now();
  write_waiting_ = true;
  asio::async_write(socket_, asio::buffer(pending),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                      self->on_written(ec);
                    });
}

template <>
void tls_session::on_written(const beast::error_code& ec) {
  write_waiting_ = false;
  if (phase_ == phase::done) return;
  if (ec) return connection_lost();
  write_blocked_since_ = {};
  if (out_head_ < out_.size()) return flush();
  auto& pending = transport_state_.write_buffer;
  if (pending.capacity() > kept_write_capacity) std::string().swap(pending);
  on_queue_written();
}

template <>
void tls_session::hard_close() {
  beast::error_code ignored;
  auto& tcp = beast::get_lowest_layer(socket_).socket();
  tcp.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  tcp.close(ignored);
}

template void start_websocket_session<tls_transport>(
    std::shared_ptr<server_state> state, connection_slot slot, tls_transport::socket socket,
    std::string early_input, http::request<http::string_body> request, http_request plain_request,
    const route& matched, std::string parameter);

}  // namespace kwm::net
