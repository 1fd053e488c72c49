// The listener and plain HTTP sessions. WebSocket sessions are in websocket_session.cpp.
#include "net/http_server.hpp"

#include <sys/resource.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
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
#include "net/io_pool.hpp"

namespace kwm::net {

using tcp = asio::ip::tcp;

// -- server_state -------------------------------------------------------------------------

server_state::server_state(server_config config_, router routes_)
    : config(std::move(config_)),
      routes(std::move(routes_)),
      table(effective_max_connections(config.http), config.http.max_connections_per_address) {}

void server_state::track(const std::shared_ptr<session_base>& session,
                         asio::any_io_executor executor) {
  std::lock_guard<std::mutex> guard(mutex_);
  sessions_[session.get()] = entry{session, std::move(executor)};
}

void server_state::untrack(const session_base* session) {
  std::lock_guard<std::mutex> guard(mutex_);
  sessions_.erase(session);
}

void server_state::for_each_session(void (session_base::*action)()) {
  std::vector<std::pair<std::shared_ptr<session_base>, asio::any_io_executor>> live;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    live.reserve(sessions_.size());
    for (auto& [key, e] : sessions_)
      if (auto session = e.session.lock()) live.emplace_back(std::move(session), e.executor);
  }
  for (auto& [session, executor] : live)
    asio::post(executor, [session = session, action] { ((*session).*action)(); });
}

std::size_t effective_max_connections(const http_limits& limits) {
  if (limits.max_connections != 0) return limits.max_connections;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  const rlim_t reserve = 64 + static_cast<rlim_t>(limits.descriptors_for_others);
  return limit.rlim_cur > reserve + 1 ? static_cast<std::size_t>(limit.rlim_cur - reserve) : 1;
}

peer_address to_peer_address(const tcp::endpoint& endpoint) {
  peer_address peer;
  peer.port = endpoint.port();
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), peer.bytes.begin());
    peer.is_v4 = true;
  } else {
    const auto bytes = address.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), peer.bytes.begin());
    peer.is_v4 = false;
  }
  return peer;
}

namespace {

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A request the parser rejected (as opposed to a timeout or the peer going away).
bool is_malformed_request(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// `head_fields`: how many fields came in the head; the rest are trailers, which are never
// taken for headers (a trailer must not add an Authorization, for one).
http_request to_plain_request(http::request<http::string_body>& request, std::size_t head_fields,
                              const peer_address& peer) {
  http_request plain;
  plain.method = std::string(to_std(request.method_string()));
  const std::string_view target = to_std(request.target());
  const auto question = target.find('?');
  plain.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) plain.query = std::string(target.substr(question + 1));
  plain.headers.reserve(std::min<std::size_t>(head_fields, 16));
  for (const auto& field : request) {
    if (plain.headers.size() == head_fields) break;
    plain.headers.emplace_back(lower_case(to_std(field.name_string())),
                               std::string(to_std(field.value())));
  }
  plain.peer = peer;
  return plain;
}

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

// What one read may hold unparsed: a request head, one chunk-size line or one trailer
// section, each of which Beast must see whole. Bounding the buffer bounds them (431).
std::size_t input_buffer_limit(const http_limits& limits) {
  return std::max<std::size_t>(limits.max_header_bytes, 4096);
}

// A complete response and the serializer that writes it (whose body writer takes the body as
// it is at construction), alive until the last piece is written.
template <class Body>
struct outgoing_response {
  explicit outgoing_response(http::response<Body> complete)
      : message(std::move(complete)), serializer(message) {}
  http::response<Body> message;
  http::response_serializer<Body> serializer;
};

request_head_view view_of_head(const http::request<http::string_body>& head) {
  request_head_view view;
  view.version = head.version();
  for (const auto& field : head) view.fields.emplace_back(to_std(field.name_string()), to_std(field.value()));
  return view;
}

// -- plain HTTP session -------------------------------------------------------------------

class http_session : public session_base, public std::enable_shared_from_this<http_session> {
 public:
  http_session(std::shared_ptr<server_state> state, connection_slot slot, tcp::socket socket)
      : state_(std::move(state)),
        slot_(std::move(slot)),
        stream_(std::move(socket)),
        buffer_(input_buffer_limit(state_->config.http)) {
    beast::error_code ec;
    peer_ = to_peer_address(stream_.socket().remote_endpoint(ec));
    via_trusted_proxy_ =
        state_->table.caps_addresses() && state_->config.trusted_proxies.allows(peer_);
  }

  ~http_session() override {
    state_->untrack(this);
    if (evictable_) state_->table.forget(*evictable_);
  }

  // Called where the connection was accepted, so that the eviction order is accept order.
  void start() {
    evictable_.emplace(weak_from_this(), stream_.get_executor());
    state_->table.make_evictable(*evictable_);
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->state_->track(self, self->stream_.get_executor());
      if (self->state_->stopping.load()) return self->close();
      self->read_header();
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

  void read_header() {
    busy_ = false;
    if (shutting_down_) return close();
    request_started_ = std::chrono::steady_clock::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits().max_header_bytes));
    parser_->body_limit(limits().max_body_bytes);
    parser_->on_chunk_header(count_chunk_);
    stream_.expires_after(limits().read_header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_header, shared_from_this()));
  }

  // Keep-alive: wait up to the idle timeout for the first byte of the next request, then
  // give the request head its own (shorter) timeout.
  void wait_for_next_request() {
    busy_ = false;
    if (shutting_down_) return close();
    state_->table.make_evictable(*evictable_);
    if (buffer_.size() > 0) return read_header();
    stream_.expires_after(limits().idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
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
    close();
  }

  void refuse_oversized_head() {
    write_response(http_response::text_error(431, "Request Header Fields Too Large"), true);
  }

  void on_header(beast::error_code ec, std::size_t head_bytes) {
    busy_ = true;
    state_->table.make_unevictable(*evictable_);
    if (ec) return on_read_error(ec);
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
    const auto target = to_std(head.target());
    match_ = state_->routes.find(target.substr(0, target.find('?')));
    if (match_.matched != nullptr && match_.matched->options.trusted_only &&
        !state_->config.trusted_networks.allows(peer_))
      return write_response(http_response::text_error(403, "forbidden"), true);
    std::size_t body_limit = limits().max_body_bytes;
    if (match_.matched != nullptr && match_.matched->options.max_body_bytes != 0 &&
        match_.matched->options.oversized_body == body_policy::reject_oversized)
      body_limit = match_.matched->options.max_body_bytes;
    parser_->body_limit(body_limit);
    const auto elapsed = std::chrono::steady_clock::now() - request_started_;
    const auto remaining = limits().read_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
    stream_.expires_after(std::max(remaining, std::chrono::milliseconds(1)));
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
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
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
        beast::bind_front_handler(&http_session::on_body_progress, shared_from_this()));
  }

  void on_body_progress(beast::error_code ec, std::size_t consumed) {
    if (ec) return on_read_error(ec);
    framing_.consumed(consumed);
    if (framing_.exceeds(parser_->get().body().size(), limits().max_header_bytes))
      return refuse_oversized_head();
    read_body();
  }

  void on_body() {
    stream_.expires_never();
    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    http_request request = to_plain_request(message, head_fields_, peer_);
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
      stream_.expires_never();
      // Whatever the client sent after the request head (frames, in the same packet) too.
      std::string early_input(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      start_websocket_session(state_, std::move(slot_), stream_.release_socket(), std::move(early_input),
                              parser_->release(), std::move(request), *matched,
                              std::string(match_.parameter));
      return;
    }
    try {
      matched->on_http(std::make_shared<exchange>(shared_from_this(), std::move(request)));
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
    stream_.expires_after(state_->config.websocket.write_wait);
    auto& serializer = response->serializer;
    http::async_write_some(stream_, serializer,
                           [self = shared_from_this(), response = std::move(response), close_after](
                               beast::error_code ec, std::size_t) mutable {
                             if (ec) return self->close();
                             if (!response->serializer.is_done())
                               return self->write_piece(std::move(response), close_after);
                             if (close_after) return self->end_connection();
                             self->reset_request_state();
                             self->wait_for_next_request();
                           });
  }

  // A streamed body: the head, then each piece as a chunk as soon as the previous one has
  // been written, so that at most one piece is held (plus what the socket buffers).
  void write_streamed(http_response plain, bool close_after) {
    http::response<http::empty_body> response;
    fill_head(response, plain, close_after);
    response.chunked(true);
    auto head = std::make_shared<outgoing_response<http::empty_body>>(std::move(response));
    stream_.expires_after(state_->config.websocket.write_wait);
    auto& serializer = head->serializer;
    http::async_write_header(
        stream_, serializer,
        [self = shared_from_this(), head, source = std::move(plain.streamed_body), close_after](
            beast::error_code ec, std::size_t) mutable {
          if (ec) return self->close();
          self->write_next_piece(std::move(source), close_after);
        });
  }

  void write_next_piece(std::shared_ptr<body_source> source, bool close_after) {
    auto* raw = source.get();
    raw->next([self = shared_from_this(), source = std::move(source),
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
    stream_.expires_after(state_->config.websocket.write_wait);
    if (piece->empty()) {
      return asio::async_write(stream_, http::make_chunk_last(),
                               [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
                                 if (ec) return self->close();
                                 self->after_response(close_after);
                               });
    }
    auto data = std::make_shared<std::string>(std::move(*piece));
    asio::async_write(stream_, http::make_chunk(asio::buffer(*data)),
                      [self = shared_from_this(), data, source = std::move(source),
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
  // lingering close). Evictable meanwhile.
  void end_connection() {
    if (parser_ && parser_->is_done() && buffer_.size() == 0) return close();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    busy_ = false;
    if (shutting_down_) return close();
    state_->table.make_evictable(*evictable_);
    lingered_bytes_ = 0;
    stream_.expires_after(linger_time);
    drop_input();
  }

  void drop_input() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec,
                                                                              std::size_t n) {
      self->lingered_bytes_ += n;
      if (ec || self->lingered_bytes_ > linger_bytes) return self->close();
      self->drop_input();
    });
  }

  static constexpr std::chrono::seconds linger_time{2};
  static constexpr std::size_t linger_bytes = 1024 * 1024;

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
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
      asio::post(executor, [session = std::move(session), response = std::move(response)]() mutable {
        session->finish_exchange(std::move(response));
      });
    }

   private:
    std::shared_ptr<http_session> session_;
    http_request request_;
  };

  std::shared_ptr<server_state> state_;
  connection_slot slot_;
  beast::tcp_stream stream_;
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
  std::chrono::steady_clock::time_point request_started_;
  bool busy_ = false;
  bool shutting_down_ = false;
  bool keep_alive_ = false;
  bool close_after_response_ = false;
  const cors_config* cors_ = nullptr;  // the matched route's CORS settings, if any
};

// The connection table's verdict on an accepted socket (D17, D20); none while stopping. A
// trusted proxy is not capped as an address itself: its clients are, per request.
std::optional<connection_slot> admit_connection(const std::shared_ptr<server_state>& state,
                                                const tcp::socket& socket) {
  if (state->stopping.load()) return std::nullopt;
  beast::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;  // the peer is already gone
  const auto peer = to_peer_address(endpoint);
  std::optional<address_key> address;
  if (state->table.caps_addresses() && !state->config.trusted_proxies.allows(peer))
    address = address_key_of(peer);
  if (!state->table.admit(address)) return std::nullopt;
  return connection_slot(state, address);
}

// -- listener -----------------------------------------------------------------------------

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Accepts on the pool's first thread; each new connection lives on the next thread.
  listener(io_pool& pool, std::shared_ptr<server_state> state)
      : pool_(pool), acceptor_(pool.context(0)), retry_timer_(acceptor_.get_executor()),
        state_(std::move(state)) {}

  void open(const std::string& host, uint16_t port) {
    const tcp::endpoint endpoint(asio::ip::make_address(host), port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->accept_next(); });
  }

  void stop() {
    asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->retry_timer_.cancel();
      self->acceptor_.close(ec);
    });
  }

  uint16_t port() const { return port_; }

 private:
  void accept_next() {
    if (!acceptor_.is_open()) return;
    acceptor_.async_accept(pool_.context(pool_.next_index()),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors or similar: back off instead of spinning on accept.
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->accept_next();
      });
      return;
    }
    auto slot = admit_connection(state_, socket);
    if (!slot) {
      beast::error_code ignored;
      socket.close(ignored);
      return accept_next();
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (state_->config.socket_send_buffer_bytes > 0)
      socket.set_option(asio::socket_base::send_buffer_size(state_->config.socket_send_buffer_bytes), ignored);
    std::make_shared<http_session>(state_, std::move(*slot), std::move(socket))->start();
    accept_next();
  }

  io_pool& pool_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::shared_ptr<server_state> state_;
  uint16_t port_ = 0;
};

}  // namespace

// -- http_server --------------------------------------------------------------------------

struct http_server::impl {
  io_pool& pool;
  std::shared_ptr<server_state> state;
  std::shared_ptr<listener> acceptor;
};

http_server::http_server(io_pool& pool, server_config config, router routes)
    : impl_(std::make_unique<impl>(impl{
          pool, std::make_shared<server_state>(std::move(config), std::move(routes)), nullptr})) {
  impl_->state->pool = &pool;
  impl_->state->websockets = make_websocket_hub(pool, impl_->state->config.websocket);
}

http_server::~http_server() {
  if (impl_->acceptor) impl_->acceptor->stop();
}

void http_server::start() {
  impl_->acceptor = std::make_shared<listener>(impl_->pool, impl_->state);
  impl_->acceptor->open(impl_->state->config.host, impl_->state->config.port);
}

uint16_t http_server::port() const { return impl_->acceptor ? impl_->acceptor->port() : 0; }

void http_server::begin_shutdown() {
  impl_->state->stopping.store(true);
  if (impl_->acceptor) impl_->acceptor->stop();
  impl_->state->for_each_session(&session_base::shutdown);
}

void http_server::force_close() { impl_->state->for_each_session(&session_base::terminate); }

std::size_t http_server::open_connections() const {
  return impl_->state->table.open_connections();
}

std::size_t http_server::open_websockets() const {
  return impl_->state->open_websockets.load(std::memory_order_relaxed);
}

}  // namespace kwm::net
