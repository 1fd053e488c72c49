#pragma once
// One HTTP/1.1 connection of the main listener: request heads and bodies within the limits
// and timeouts of §1.12 and D20, unambiguous framing and `Expect` (N2), routing, CORS,
// responses (strings, files, or bodies streamed as chunks), the
// lingering close, the connection table's eviction, and the handover to a WebSocket session.
// A template over the transport: plain_transport (http_server.cpp) and tls_transport
// (tls_http_session.cpp) each specialise begin() and end_connection(), the only places where
// they differ; everything else reads and writes through the stream alike.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include "net/client_address.hpp"
#include "net/cors.hpp"
#include "net/detail/file_range_body.hpp"
#include "net/detail/request_framing_check.hpp"
#include "net/detail/session_base.hpp"

namespace kwm::net {

// A request the parser rejected (as opposed to a timeout or the peer going away).
bool is_malformed_request(const beast::error_code& ec);

// `head_fields`: how many fields came in the head; the rest are trailers, which are never
// taken for headers (a trailer must not add an Authorization, for one).
http_request to_plain_request(http::request<http::string_body>& request, std::size_t head_fields,
                              const peer_address& peer);

// What one read may hold unparsed: a request head, one chunk-size line or one trailer
// section, each of which Beast must see whole. Bounding the buffer bounds them (431).
std::size_t input_buffer_limit(const http_limits& limits);

// The head as request_framing_check sees it (views into `head`).
request_head_view view_of_head(const http::request<http::string_body>& head);

// Bytes of one request that are not body data: the head, chunk-size lines with their
// extensions, the CRLFs around chunk data, and trailers. They share the head's limit (D20),
// which grows by 16 bytes per chunk for an ordinary size line and its CRLFs, so tiny chunks
// are fine and a request never makes the server read more than 3 × head limit + 17 × body
// limit bytes (one read past the limit included).
class request_framing {
 public:
  static constexpr std::size_t allowance_per_chunk = 16;

  void start(std::size_t head_bytes) {
    head_bytes_ = head_bytes;
    bytes_after_head_ = 0;
    chunks_ = 0;
  }
  void consumed(std::size_t bytes) { bytes_after_head_ += bytes; }
  void chunk() { ++chunks_; }
  bool exceeds(std::size_t body_bytes, std::size_t head_limit) const {
    const auto framing = bytes_after_head_ > body_bytes ? bytes_after_head_ - body_bytes : 0;
    return head_bytes_ + framing > head_limit + chunks_ * allowance_per_chunk;
  }

 private:
  std::size_t head_bytes_ = 0;
  std::size_t bytes_after_head_ = 0;
  std::size_t chunks_ = 0;
};

// A complete response and the serializer that writes it (whose body writer takes the body as
// it is at construction), alive until the last piece is written.
template <class Body>
struct outgoing_response {
  explicit outgoing_response(http::response<Body> complete)
      : message(std::move(complete)), serializer(message) {}
  http::response<Body> message;
  http::response_serializer<Body> serializer;
};

template <class Transport>
class http_session : public session_base,
                     public std::enable_shared_from_this<http_session<Transport>> {
  using clock = std::chrono::steady_clock;

 public:
  using stream_type = typename Transport::http_stream;

  http_session(std::shared_ptr<server_state> state, connection_slot slot, stream_type stream)
      : state_(std::move(state)),
        slot_(std::move(slot)),
        stream_(std::move(stream)),
        buffer_(input_buffer_limit(state_->config.http)),
        request_started_(clock::now()) {
    beast::error_code ec;
    peer_ = to_peer_address(lowest().socket().remote_endpoint(ec));
    via_trusted_proxy_ =
        state_->table.caps_addresses() && state_->config.trusted_proxies.allows(peer_);
  }

  ~http_session() override {
    state_->untrack(this);
    if (evictable_) state_->table.forget(*evictable_);
  }

  // Called where the connection was accepted, so that the eviction order is accept order.
  void start() {
    evictable_.emplace(this->weak_from_this(), stream_.get_executor());
    state_->table.make_evictable(*evictable_);
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->state_->track(self, self->stream_.get_executor());
      if (self->state_->stopping.load() && !self->state_->answering_while_stopping.load())
        return self->close();
      self->begin();
    });
  }

  // Also the eviction (D20): an idle connection closes now, a busy one after its response.
  void shutdown() override {
    shutting_down_ = true;
    if (!busy_) close();
  }

  void terminate() override { close(); }

  // Called on the session's io thread when the route handler answers.
  void finish_exchange(http_response response) {
    if (cors_) cors_response_headers(*cors_, cors_request_, response);
    write_response(std::move(response));
  }

 private:
  const http_limits& limits() const { return state_->config.http; }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // -- the transport: specialised per transport (http_server.cpp, tls_http_session.cpp) --

  // The first request head is read once the transport is ready (TLS: after its handshake,
  // which counts against the head's timeout).
  void begin();
  // After the last response: TLS sends its close_notify first; then linger().
  void end_connection();
  // The client ended its side between requests: TLS answers its close_notify with ours
  // (RFC 8446 §6.1); then the socket is closed.
  void end_after_client();

  // -- requests --

  // `started`: where the head's timeout counts from (accept for the first request).
  void read_header(clock::time_point started = clock::now()) {
    busy_ = false;
    if (shutting_down_) return close();
    request_started_ = started;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits().max_header_bytes));
    parser_->body_limit(limits().max_body_bytes);
    parser_->on_chunk_header(count_chunk_);
    expire_after_start(limits().read_header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_header, this->shared_from_this()));
  }

  // Keep-alive: wait up to the idle timeout for the first byte of the next request, then
  // give the request head its own (shorter) timeout.
  void wait_for_next_request() {
    busy_ = false;
    if (shutting_down_) return close();
    state_->table.make_evictable(*evictable_);
    if (buffer_.size() > 0) return read_header();
    lowest().expires_after(limits().idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec == asio::error::eof) return self->end_after_client();
                              if (ec) return self->close();
                              self->read_header();
                            });
  }

  // A failed read of the head or the body: the parser's verdict, or the peer went away.
  void on_read_error(const beast::error_code& ec) {
    if (ec == http::error::body_limit)
      return write_response(http_response::text_error(413, "request body too large"), true);
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return refuse_oversized_head();
    if (is_malformed_request(ec))
      return write_response(http_response::text_error(400, "Bad Request"), true);
    if (ec == http::error::end_of_stream) return end_after_client();
    close();
  }

  // A request that arrives while the server drains (http_server::begin_drain): health checks
  // see the server going, clients retry elsewhere; the body, if any, is not read (linger).
  void refuse_while_draining() {
    auto response = http_response::text_error(503, "shutting down");
    response.headers.emplace_back("Retry-After", "1");
    write_response(std::move(response), true);
  }

  void refuse_oversized_head() {
    write_response(http_response::text_error(431, "Request Header Fields Too Large"), true);
  }

  void on_header(beast::error_code ec, std::size_t head_bytes) {
    busy_ = true;
    state_->table.make_unevictable(*evictable_);
    if (ec) return on_read_error(ec);
    if (state_->answering_while_stopping.load()) return refuse_while_draining();
    framing_.start(head_bytes);
    const auto& head = parser_->get();
    head_fields_ = static_cast<std::size_t>(std::distance(head.begin(), head.end()));
    const auto head_view = view_of_head(head);
    if (!has_unambiguous_framing(head_view))
      return write_response(http_response::text_error(400, "Bad Request"), true);
    const auto expected = expectation_of(head_view);
    if (expected == expectation::unsupported)
      return write_response(http_response::text_error(417, "Expectation Failed"), true);
    if (via_trusted_proxy_ && !slot_.attribute_to(address_key_of(forwarded_peer()))) {
      // The proxy's connection stays usable for its other clients, unless a body is unread.
      keep_alive_ = head.keep_alive() && parser_->is_done();
      return write_response(http_response::text_error(429, "too many connections"));
    }
    const auto target = origin_form_of(to_std(head.target()));
    match_ = state_->routes.find(target.substr(0, target.find('?')));
    if (match_.matched != nullptr && match_.matched->options.trusted_only &&
        !state_->config.trusted_networks.allows(peer_))
      return write_response(http_response::text_error(403, "forbidden"), true);
    std::size_t body_limit = limits().max_body_bytes;
    if (match_.matched != nullptr && match_.matched->options.max_body_bytes != 0 &&
        match_.matched->options.oversized_body == body_policy::reject_oversized)
      body_limit = match_.matched->options.max_body_bytes;
    parser_->body_limit(body_limit);
    expire_after_start(limits().read_timeout);
    // Each read parses all it holds (thousands of tiny chunks), not one chunk per round trip.
    parser_->eager(true);
    // A client whose body has begun to arrive did not wait: no 100 for it.
    if (expected == expectation::continue_100 && !parser_->is_done() && buffer_.size() == 0)
      return continue_body(body_limit);
    read_body();
  }

  // `Expect: 100-continue`: the client waits for a word before it sends the body. A declared
  // length over the limit gets its final answer now; otherwise 100 Continue, then the body.
  void continue_body(std::size_t body_limit) {
    const auto length = parser_->content_length();
    if (length && *length > body_limit)
      return write_response(http_response::text_error(413, "request body too large"), true);
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::const_buffer(go_on.data(), go_on.size()),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->read_body();
                      });
  }

  // The client a trusted proxy forwards this request for; the proxy itself when unknown.
  peer_address forwarded_peer() const {
    std::vector<std::string_view> values;
    for (const auto& field : parser_->get())
      if (beast::iequals(field.name_string(), "x-forwarded-for"))
        values.push_back(to_std(field.value()));
    return forwarded_client(values, state_->config.trusted_proxies).value_or(peer_);
  }

  // The body, one read at a time, so that the framing can be counted as it arrives.
  void read_body() {
    if (parser_->is_done()) return on_body();
    http::async_read_some(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_body_progress, this->shared_from_this()));
  }

  void on_body_progress(beast::error_code ec, std::size_t consumed) {
    if (ec) return on_read_error(ec);
    framing_.consumed(consumed);
    if (framing_.exceeds(parser_->get().body().size(), limits().max_header_bytes))
      return refuse_oversized_head();
    read_body();
  }

  // The stream's deadline: `timeout` after the request started (at least a moment from now).
  void expire_after_start(std::chrono::milliseconds timeout) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - request_started_);
    lowest().expires_after(std::max(timeout - elapsed, std::chrono::milliseconds(1)));
  }

  void on_body() {
    lowest().expires_never();
    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    // Handlers see the client a trusted proxy names, as the per-address caps do.
    http_request request =
        to_plain_request(message, head_fields_,
                         state_->config.trusted_proxies.allows(peer_) ? forwarded_peer() : peer_);
    request.body = std::move(message.body());
    const route* matched = match_.matched;
    if (matched == nullptr) return write_response(http_response::not_found());

    if (matched->options.cors) {
      cors_ = &*matched->options.cors;
      cors_request_ = cors_request_info::of(request);
      if (cors_request_.is_preflight) {
        http_response preflight = http_response::empty(200);
        cors_preflight_headers(*cors_, cors_request_, preflight);
        return write_response(std::move(preflight));
      }
    }

    if (matched->options.max_body_bytes != 0 &&
        matched->options.oversized_body == body_policy::truncate_oversized &&
        request.body.size() > matched->options.max_body_bytes) {
      request.body.resize(matched->options.max_body_bytes);
      request.body_truncated = true;
      close_after_response_ = true;
    }

    if (matched->type == route::kind::websocket) {
      if (message.method() != http::verb::get)
        return write_response(http_response::text_error(405, ""));
      state_->untrack(this);
      shutting_down_ = true;  // this object is finished; the socket moves on
      lowest().expires_never();
      // Whatever the client sent after the request head (frames, in the same packet) too.
      std::string early_input(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      start_websocket_session<Transport>(
          state_, std::move(slot_), Transport::release(stream_), std::move(early_input),
          parser_->release(), std::move(request), *matched, std::string(match_.parameter));
      return;
    }
    try {
      matched->on_http(std::make_shared<exchange>(this->shared_from_this(), std::move(request)));
    } catch (const std::exception&) {
      // A handler bug must not take the io thread down; the dropped exchange answers 500.
    }
  }

  void write_response(http_response plain, bool force_close = false) {
    const bool close_after = force_close || close_after_response_ || !keep_alive_ ||
                             shutting_down_ || plain.close_connection;
    // A proxied client's request is answered: it no longer counts against its address.
    if (via_trusted_proxy_) slot_.end_attribution();
    if (plain.streamed_body) return write_streamed(std::move(plain), close_after);
    if (plain.file_body) {
      http::response<file_range_body> response;
      fill_head(response, plain, close_after);
      response.body() = std::move(*plain.file_body);
      response.prepare_payload();
      return write_piece(std::make_shared<outgoing_response<file_range_body>>(std::move(response)),
                         close_after);
    }
    http::response<http::string_body> response;
    fill_head(response, plain, close_after);
    response.body() = std::move(plain.body);
    response.prepare_payload();
    if (plain.head_content_length) response.content_length(*plain.head_content_length);
    // From here the connection may be evicted: a shutdown waits for this write to finish.
    if (!close_after) state_->table.make_evictable(*evictable_);
    write_piece(std::make_shared<outgoing_response<http::string_body>>(std::move(response)),
                close_after);
  }

  template <class Body>
  static void fill_head(http::response<Body>& response, const http_response& plain,
                        bool close_after) {
    response.version(11);
    response.result(plain.status);
    for (const auto& [name, value] : plain.headers) response.insert(name, value);
    response.keep_alive(!close_after);
  }

  // Each piece has its own write deadline: a large file on a slow link goes through, a
  // client that stops reading is dropped after the write wait.
  template <class Body>
  void write_piece(std::shared_ptr<outgoing_response<Body>> response, bool close_after) {
    lowest().expires_after(state_->config.websocket.write_wait);
    auto& serializer = response->serializer;
    http::async_write_some(stream_, serializer,
                           [self = this->shared_from_this(), response = std::move(response),
                            close_after](beast::error_code ec, std::size_t) mutable {
                             if (ec) return self->close();
                             if (!response->serializer.is_done())
                               return self->write_piece(std::move(response), close_after);
                             if (close_after) return self->end_connection();
                             self->reset_request_state();
                             self->wait_for_next_request();
                           });
  }

  // A streamed body: the head, then each piece as a chunk as soon as the previous one has
  // been written, so that at most one piece is held (plus what the transport buffers).
  void write_streamed(http_response plain, bool close_after) {
    http::response<http::empty_body> response;
    fill_head(response, plain, close_after);
    response.chunked(true);
    auto head = std::make_shared<outgoing_response<http::empty_body>>(std::move(response));
    lowest().expires_after(state_->config.websocket.write_wait);
    auto& serializer = head->serializer;
    http::async_write_header(
        stream_, serializer,
        [self = this->shared_from_this(), head, source = std::move(plain.streamed_body),
         close_after](beast::error_code ec, std::size_t) mutable {
          if (ec) return self->close();
          self->write_next_piece(std::move(source), close_after);
        });
  }

  void write_next_piece(std::shared_ptr<body_source> source, bool close_after) {
    auto* raw = source.get();
    raw->next([self = this->shared_from_this(), source = std::move(source),
               close_after](std::optional<std::string> piece) mutable {
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self = std::move(self), source = std::move(source), close_after,
                            piece = std::move(piece)]() mutable {
        self->on_piece(std::move(source), std::move(piece), close_after);
      });
    });
  }

  void on_piece(std::shared_ptr<body_source> source, std::optional<std::string> piece,
                bool close_after) {
    if (!piece) return close();
    lowest().expires_after(state_->config.websocket.write_wait);
    if (piece->empty()) {
      return asio::async_write(
          stream_, http::make_chunk_last(),
          [self = this->shared_from_this(), close_after](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->after_response(close_after);
          });
    }
    auto data = std::make_shared<std::string>(std::move(*piece));
    asio::async_write(stream_, http::make_chunk(asio::buffer(*data)),
                      [self = this->shared_from_this(), data, source = std::move(source),
                       close_after](beast::error_code ec, std::size_t) mutable {
                        if (ec) return self->close();
                        self->write_next_piece(std::move(source), close_after);
                      });
  }

  void after_response(bool close_after) {
    if (close_after) return end_connection();
    state_->table.make_evictable(*evictable_);
    reset_request_state();
    wait_for_next_request();
  }

  void reset_request_state() {
    cors_ = nullptr;
    close_after_response_ = false;
    keep_alive_ = false;
    match_ = {};
  }

  // After the last response. When the client may still be sending (the request was refused
  // before it was read to the end), closing at once would answer its data with an RST, which
  // can destroy the response before the client reads it. So: FIN after the response, then
  // drop what still arrives for a bounded time and amount, then close (what nginx calls a
  // lingering close). Evictable meanwhile. What arrives is not decrypted: it is dropped.
  void linger() {
    if (parser_ && parser_->is_done() && buffer_.size() == 0) return close();
    beast::error_code ec;
    lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    busy_ = false;
    if (shutting_down_) return close();
    state_->table.make_evictable(*evictable_);
    lingered_bytes_ = 0;
    lowest().expires_after(linger_time);
    drop_input();
  }

  void drop_input() {
    buffer_.clear();
    lowest().async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](
                                                        beast::error_code ec, std::size_t n) {
      self->lingered_bytes_ += n;
      if (ec || self->lingered_bytes_ > linger_bytes) return self->close();
      self->drop_input();
    });
  }

  static constexpr std::chrono::seconds linger_time{2};
  static constexpr std::size_t linger_bytes = 1024 * 1024;

  void close() {
    beast::error_code ec;
    lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    lowest().close();
  }

  class exchange : public http_exchange {
   public:
    exchange(std::shared_ptr<http_session> session, http_request request)
        : session_(std::move(session)), request_(std::move(request)) {}
    ~exchange() override {
      if (session_) respond(http_response::text_error(500, "request failed"));
    }
    const http_request& request() const override { return request_; }
    void respond(http_response response) override {
      auto session = std::move(session_);
      if (!session) return;
      auto executor = session->stream_.get_executor();
      asio::post(executor,
                 [session = std::move(session), response = std::move(response)]() mutable {
                   session->finish_exchange(std::move(response));
                 });
    }

   private:
    std::shared_ptr<http_session> session_;
    http_request request_;
  };

  std::shared_ptr<server_state> state_;
  connection_slot slot_;
  stream_type stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<connection_table::evictable> evictable_;
  request_framing framing_;
  std::function<void(std::uint64_t, beast::string_view, beast::error_code&)> count_chunk_ =
      [this](std::uint64_t, beast::string_view, beast::error_code&) { framing_.chunk(); };
  std::size_t head_fields_ = 0;
  std::size_t lingered_bytes_ = 0;
  peer_address peer_;
  bool via_trusted_proxy_ = false;
  router::match match_;
  cors_request_info cors_request_;
  clock::time_point request_started_;
  bool busy_ = false;
  bool shutting_down_ = false;
  bool keep_alive_ = false;
  bool close_after_response_ = false;
  const cors_config* cors_ = nullptr;  // the matched route's CORS settings, if any
};

template <class Transport>
void start_http_session(std::shared_ptr<server_state> state, connection_slot slot,
                        asio::ip::tcp::socket socket) {
  auto stream = Transport::open(std::move(socket), *state);
  std::make_shared<http_session<Transport>>(std::move(state), std::move(slot), std::move(stream))
      ->start();
}

}  // namespace kwm::net
