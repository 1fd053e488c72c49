// One WebSocket connection: the upgrade decision, one read loop, one bounded write
// queue, keepalive pings and the close handshake. Everything runs on the connection's
// strand; frame_sink calls from other threads are posted onto it.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>

#include <cstring>

#include "net/detail/frame_queue.hpp"
#include "net/detail/session_base.hpp"

namespace kwm::net {
namespace {

namespace websocket = beast::websocket;
using clock = std::chrono::steady_clock;

class websocket_session : public session_base,
                          public pending_websocket,
                          public std::enable_shared_from_this<websocket_session> {
 public:
  websocket_session(std::shared_ptr<server_state> state, connection_slot slot,
                    beast::tcp_stream stream, http::request<http::string_body> upgrade_request,
                    http_request request)
      : state_(std::move(state)),
        slot_(std::move(slot)),
        ws_(std::move(stream)),
        keepalive_timer_(ws_.get_executor()),
        deadline_timer_(ws_.get_executor()),
        pending_(std::make_unique<pending_upgrade>(pending_upgrade{std::move(upgrade_request), std::move(request)})) {}

  ~websocket_session() override {
    state_->untrack(this);
    if (counted_) state_->open_websockets.fetch_sub(1, std::memory_order_relaxed);
    if (listener_) listener_->on_closed();
  }

  void start(const route& matched, std::string parameter) {
    sink_ = std::make_shared<session_sink>(weak_from_this());
    state_->track(shared_from_this(), ws_.get_executor());
    if (state_->stopping.load()) close_started_ = true;
    matched.on_websocket(shared_from_this(), std::move(parameter));
  }

  // -- pending_websocket (any thread) --

  // Valid until accept or reject; the request is dropped once the socket is open.
  const http_request& request() const override { return pending_->plain; }
  std::shared_ptr<frame_sink> sink() override { return sink_; }

  void reject(http_response response) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), r = std::move(response)]() mutable {
      self->do_reject(std::move(r));
    });
  }

  void accept(std::unique_ptr<frame_listener> listener, websocket_options options) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), l = std::move(listener),
                                    o = std::move(options)]() mutable {
      self->do_accept(std::move(l), std::move(o));
    });
  }

  // -- session_base (strand) --

  void shutdown() override { close_from_server(close_code::going_away, {}); }
  void terminate() override { hard_close(); }

  // -- frame_sink, posted onto the strand --

  void post_send(frame text) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
      self->enqueue(std::move(t));
    });
  }

  void post_close(close_code code, std::string reason) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)]() mutable {
      self->close_from_server(code, std::move(r));
    });
  }

 private:
  enum class phase { pending, handshaking, open, closing, done };

  class session_sink : public frame_sink {
   public:
    explicit session_sink(std::weak_ptr<websocket_session> session) : session_(std::move(session)) {}
    void send(frame text) override {
      if (auto s = session_.lock()) s->post_send(std::move(text));
    }
    void close(close_code code, std::string reason) override {
      if (auto s = session_.lock()) s->post_close(code, std::move(reason));
    }

   private:
    std::weak_ptr<websocket_session> session_;
  };

  const websocket_limits& limits() const { return state_->config.websocket; }

  // -- the upgrade decision --

  void do_reject(http_response plain) {
    if (phase_ != phase::pending) return;
    phase_ = phase::done;
    plain.close_connection = true;
    write_plain_response(std::move(plain));
  }

  void write_plain_response(http_response plain) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(11);
    response->result(plain.status);
    for (auto& [name, value] : plain.headers) response->insert(name, value);
    response->body() = std::move(plain.body);
    response->keep_alive(false);
    response->prepare_payload();
    auto& stream = beast::get_lowest_layer(ws_);
    stream.expires_after(limits().write_wait);
    http::async_write(stream, *response,
                      [self = shared_from_this(), response](beast::error_code, std::size_t) {
                        self->hard_close();
                        self->finish();
                      });
  }

  void do_accept(std::unique_ptr<frame_listener> listener, websocket_options options) {
    listener_ = std::move(listener);
    if (phase_ != phase::pending) return finish();
    farewell_ = std::move(options.farewell);
    if (!websocket::is_upgrade(pending_->upgrade)) {
      phase_ = phase::done;
      auto plain = http_response::text_error(400, "Bad Request");
      plain.headers.emplace_back("Sec-Websocket-Version", "13");
      return write_plain_response(std::move(plain));
    }
    phase_ = phase::handshaking;
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = limits().handshake_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(timeouts);
    ws_.read_message_max(0);  // enforced here, so that `goodbye` can precede the 1009 close
    ws_.auto_fragment(false);
    ws_.write_buffer_bytes(8);  // unused: server frames are neither masked, compressed nor fragmented
    if (!options.subprotocol.empty()) {
      ws_.set_option(websocket::stream_base::decorator(
          [protocol = options.subprotocol](websocket::response_type& response) {
            response.set(http::field::sec_websocket_protocol, protocol);
          }));
    }
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::pong && payload.size() == sizeof ping_payload_ &&
          std::memcmp(payload.data(), ping_payload_, sizeof ping_payload_) == 0 &&
          ping_counter_ > 0)
        read_deadline_ = clock::now() + limits().pong_wait;
    });
    ws_.async_accept(pending_->upgrade, [self = shared_from_this()](beast::error_code ec) {
      self->on_handshake(ec);
    });
  }

  void on_handshake(beast::error_code ec) {
    pending_.reset();  // nothing of the HTTP request is needed any more
    if (ec) return finish();
    phase_ = phase::open;
    // From now on Beast's handshake timeout bounds the close handshake, whichever side
    // starts it: after the close frames, the peer gets the close wait to end TCP.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = limits().close_wait;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    counted_ = true;
    state_->open_websockets.fetch_add(1, std::memory_order_relaxed);
    start_keepalive();
    read_next();
    if (close_started_)
      begin_close();
    else if (!queue_.empty())
      write_next();
  }

  // -- reading --

  void read_next() {
    const std::size_t room = limits().max_message_bytes + 1 - read_buffer_.size();
    // Beast allocates the read's room up front; a connection waiting for its next message
    // should not hold kilobytes for it, so the first read of a message asks for little.
    const std::size_t chunk = read_buffer_.size() == 0 ? 128 : 64 * 1024;
    ws_.async_read_some(read_buffer_, std::min(room, chunk),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          self->on_read(ec);
                        });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      hard_close();
      return finish();
    }
    if (!ws_.is_message_done()) {
      if (read_buffer_.size() > limits().max_message_bytes) {
        read_buffer_.clear();
        read_buffer_.shrink_to_fit();
        reading_stopped_ = true;  // the close handshake reads and discards the rest
        return close_from_server(close_code::message_too_big, {});
      }
      return read_next();
    }
    if (phase_ == phase::open && listener_) {
      if (ws_.got_text())
        listener_->on_text(beast::buffers_to_string(read_buffer_.data()));
      else
        listener_->on_binary(read_buffer_.size());
    }
    read_buffer_.clear();
    if (read_buffer_.capacity() > 4 * 1024) read_buffer_.shrink_to_fit();
    read_next();
  }

  // -- writing --

  void enqueue(frame text) {
    if (close_started_ || phase_ == phase::done) return;
    const std::size_t size = text->size();
    if (queue_.size() + 1 > limits().send_queue_messages ||
        queued_bytes_ + size > limits().send_queue_bytes)
      return slow_consumer();
    queued_bytes_ += size;
    queue_.push_back(std::move(text));
    if (phase_ == phase::open && !write_in_flight_) write_next();
  }

  void write_next() {
    write_in_flight_ = true;
    write_started_ = clock::now();
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->on_write(ec);
                    });
    arm_deadline(write_started_ + limits().write_wait);
  }

  void on_write(beast::error_code ec) {
    write_in_flight_ = false;
    if (ec) return hard_close();
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
    if (!queue_.empty())
      write_next();
    else if (phase_ == phase::closing)
      send_close_frame();
  }

  // D13: discard everything queued (except the frame Beast is writing), then close.
  void slow_consumer() {
    if (write_in_flight_) {
      queue_.keep_front_only();
      queued_bytes_ = queue_.front()->size();
    } else {
      queue_.clear();
      queued_bytes_ = 0;
    }
    close_from_server(close_code::policy_violation, "slow consumer");
  }

  // -- closing --

  void close_from_server(close_code code, std::string reason) {
    if (close_started_ || phase_ == phase::done) return;
    close_started_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    if (phase_ == phase::open) begin_close();
  }

  void begin_close() {
    phase_ = phase::closing;
    close_began_ = clock::now();
    if (farewell_) queue_.push_back(farewell_);  // bypasses the queue bounds (spec §3.4)
    arm_deadline(close_deadline());
    if (!write_in_flight_) {
      if (!queue_.empty())
        write_next();
      else
        send_close_frame();
    }
  }

  void send_close_frame() {
    if (close_frame_sent_) return;
    if (ping_in_flight_) {
      close_after_ping_ = true;  // Beast allows one ping or close at a time
      return;
    }
    close_frame_sent_ = true;
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
                    [self = shared_from_this()](beast::error_code) {
                      self->hard_close();
                      if (self->reading_stopped_) self->finish();
                    });
  }

  void hard_close() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    phase_ = phase::done;
    keepalive_timer_.cancel();
    deadline_timer_.cancel();
    state_->untrack(this);
    if (listener_) {
      auto listener = std::move(listener_);
      listener->on_closed();
    }
  }

  // -- timers --

  void start_keepalive() {
    const auto now = clock::now();
    read_deadline_ = now + limits().pong_wait;
    next_ping_ = now + limits().ping_period;
    arm_keepalive();
  }

  void arm_keepalive() {
    keepalive_timer_.expires_at(std::min(read_deadline_, next_ping_));
    keepalive_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->on_keepalive();
    });
  }

  void on_keepalive() {
    if (phase_ != phase::open) return;
    const auto now = clock::now();
    if (now >= read_deadline_) return close_from_server(close_code::going_away, {});
    if (now >= next_ping_) {
      send_ping();
      next_ping_ += limits().ping_period;
    }
    arm_keepalive();
  }

  void send_ping() {
    if (ping_in_flight_) return;
    ++ping_counter_;
    for (std::size_t i = 0; i < sizeof ping_payload_; ++i)
      ping_payload_[i] = static_cast<char>(ping_counter_ >> (8 * i) & 0xFF);
    ping_in_flight_ = true;
    ws_.async_ping(websocket::ping_data(ping_payload_, sizeof ping_payload_),
                   [self = shared_from_this()](beast::error_code) {
                     self->ping_in_flight_ = false;
                     if (self->close_after_ping_) self->send_close_frame();
                   });
  }

  // One timer guards both the write in flight (write wait) and the close handshake.
  void arm_deadline(clock::time_point at) {
    if (deadline_armed_ && deadline_timer_.expiry() <= at) return;
    deadline_armed_ = true;
    deadline_timer_.expires_at(at);
    deadline_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->deadline_armed_ = false;
      self->on_deadline();
    });
  }

  void on_deadline() {
    if (phase_ == phase::done) return;
    const auto now = clock::now();
    if (write_in_flight_ && now >= write_started_ + limits().write_wait) return hard_close();
    if (phase_ == phase::closing && now >= close_deadline()) return hard_close();
    if (write_in_flight_) arm_deadline(write_started_ + limits().write_wait);
    if (phase_ == phase::closing) arm_deadline(close_deadline());
  }

  clock::time_point close_deadline() const {
    return close_began_ + limits().write_wait + limits().close_wait;
  }

  std::shared_ptr<server_state> state_;
  connection_slot slot_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer keepalive_timer_;
  asio::steady_timer deadline_timer_;
  // The upgrade request, kept only while the application decides and the handshake runs.
  struct pending_upgrade {
    http::request<http::string_body> upgrade;
    http_request plain;
  };
  std::unique_ptr<pending_upgrade> pending_;
  std::shared_ptr<session_sink> sink_;
  std::unique_ptr<frame_listener> listener_;
  frame farewell_;
  beast::flat_buffer read_buffer_;
  frame_queue queue_;
  std::size_t queued_bytes_ = 0;
  clock::time_point write_started_{};
  clock::time_point close_began_{};
  clock::time_point read_deadline_{};
  clock::time_point next_ping_{};
  uint64_t ping_counter_ = 0;
  char ping_payload_[8] = {};
  close_code close_code_ = close_code::going_away;
  std::string close_reason_;
  phase phase_ = phase::pending;
  bool counted_ = false;
  bool write_in_flight_ = false;
  bool ping_in_flight_ = false;
  bool close_started_ = false;
  bool close_frame_sent_ = false;
  bool close_after_ping_ = false;
  bool reading_stopped_ = false;
  bool deadline_armed_ = false;
  bool finished_ = false;
};

}  // namespace

void start_websocket_session(std::shared_ptr<server_state> state, connection_slot slot,
                             beast::tcp_stream stream, http::request<http::string_body> request,
                             http_request plain_request, const route& matched,
                             std::string parameter) {
  auto session = std::make_shared<websocket_session>(std::move(state), std::move(slot),
                                                     std::move(stream), std::move(request),
                                                     std::move(plain_request));
  session->start(matched, std::move(parameter));
}

}  // namespace kwm::net
