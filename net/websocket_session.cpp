// The WebSocket session over a plain socket: readiness-based, so that an idle connection holds
// no read buffer and a burst of frames leaves in one writev. The protocol logic is
// net/detail/websocket_session.hpp; this file is what touches the socket.
#include <boost/asio/ip/tcp.hpp>

#include "net/detail/plain_transport.hpp"
#include "net/detail/websocket_session.hpp"

namespace kwm::net {

using tcp = asio::ip::tcp;
using plain_session = websocket_session<plain_transport>;

// Every specialised member is declared before any of them is used.
template <>
void plain_session::open_transport();
template <>
void plain_session::arm_read();
template <>
void plain_session::flush();
template <>
void plain_session::hard_close();
template <>
void plain_session::read_ready();
template <>
void plain_session::wait_writable();

template <>
void plain_session::open_transport() {
  beast::error_code ignored;
  socket_.non_blocking(true, ignored);
}

template <>
void plain_session::arm_read() {
  if (read_armed_ || paused_.load(std::memory_order_relaxed) || phase_ == phase::done) return;
  read_armed_ = true;
  socket_.async_wait(tcp::socket::wait_read,
                     [self = this->shared_from_this()](beast::error_code ec) {
                       self->read_armed_ = false;
                       if (self->phase_ == phase::done) return;
                       if (ec) return self->connection_lost();
                       self->read_ready();
                     });
}

// Reads what the socket holds, up to a share per turn so other sessions get theirs.
template <>
void plain_session::read_ready() {
  constexpr std::size_t share_per_turn = 256 * 1024;
  std::size_t total = 0;
  std::size_t capacity = 0;
  char* buffer = hub_.read_buffer(home_, capacity);
  for (;;) {
    beast::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(buffer, capacity), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) return connection_lost();
    if (!consume(buffer, n)) return;
    total += n;
    if (n < capacity) break;  // drained for now
    if (total >= share_per_turn) {
      post([](plain_session& s) { s.read_ready(); });
      return;
    }
  }
  arm_read();
}

template <>
void plain_session::wait_writable() {
  if (write_blocked_since_ == clock::time_point{}) write_blocked_since_ = clock::now();
  write_waiting_ = true;
  socket_.async_wait(tcp::socket::wait_write,
                     [self = this->shared_from_this()](beast::error_code ec) {
                       self->write_waiting_ = false;
                       if (self->phase_ == phase::done) return;
                       if (ec) return self->connection_lost();
                       self->flush();
                     });
}

// Writes as much of the queue as the socket takes now, in gathered writes.
template <>
void plain_session::flush() {
  if (write_waiting_ || phase_ == phase::pending || phase_ == phase::done) return;
  while (out_head_ < out_.size()) {
    gathered_buffers buffers;
    gathered_headers headers;
    const std::size_t count = gather(buffers, headers);
    beast::error_code ec;
    const std::size_t written =
        socket_.write_some(detail::buffer_span{buffers.data(), buffers.data() + count}, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_writable();
    if (ec) return connection_lost();
    write_blocked_since_ = {};
    if (!account_written(written)) return wait_writable();
  }
  on_queue_written();
}

template <>
void plain_session::hard_close() {
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

template void start_websocket_session<plain_transport>(std::shared_ptr<server_state> state,
                                                       connection_slot slot, tcp::socket socket,
                                                       std::string early_input,
                                                       http::request<http::string_body> request,
                                                       http_request plain_request,
                                                       const route& matched, std::string parameter);

}  // namespace kwm::net
