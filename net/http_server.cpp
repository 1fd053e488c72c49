// The listener, the server's shared state, and the plain HTTP sessions (the session logic is
// net/detail/http_session.hpp; TLS sessions are made in tls_http_session.cpp). WebSocket
// sessions are in websocket_session.cpp.
#include "net/http_server.hpp"

#include <sys/resource.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>
#include <vector>

#include "net/detail/http_session.hpp"
#include "net/detail/plain_transport.hpp"
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

}  // namespace

bool is_malformed_request(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

http_request to_plain_request(http::request<http::string_body>& request, std::size_t head_fields,
                              const peer_address& peer) {
  http_request plain;
  plain.method = std::string(to_std(request.method_string()));
  const std::string_view target = origin_form_of(to_std(request.target()));
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

std::size_t input_buffer_limit(const http_limits& limits) {
  return std::max<std::size_t>(limits.max_header_bytes, 4096);
}

request_head_view view_of_head(const http::request<http::string_body>& head) {
  request_head_view view;
  view.version = head.version();
  for (const auto& field : head)
    view.fields.emplace_back(to_std(field.name_string()), to_std(field.value()));
  return view;
}

// -- plain HTTP sessions --------------------------------------------------------------------

template <>
void http_session<plain_transport>::begin() {
  read_header(request_started_);
}

template <>
void http_session<plain_transport>::end_connection() {
  linger();
}

template <>
void http_session<plain_transport>::end_after_client() {
  close();
}

// Sessions over TLS are made in tls_http_session.cpp.
extern template void start_http_session<tls_transport>(std::shared_ptr<server_state> state,
                                                       connection_slot slot, tcp::socket socket);

namespace {

// The connection table's verdict on an accepted socket (D17, D20); none while stopping
// (unless draining, when every request is answered 503). A
// trusted proxy is not capped as an address itself: its clients are, per request.
std::optional<connection_slot> admit_connection(const std::shared_ptr<server_state>& state,
                                                const tcp::socket& socket) {
  if (state->stopping.load() && !state->answering_while_stopping.load()) return std::nullopt;
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
      : pool_(pool),
        acceptor_(pool.context(0)),
        retry_timer_(acceptor_.get_executor()),
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
      socket.set_option(
          asio::socket_base::send_buffer_size(state_->config.socket_send_buffer_bytes), ignored);
    if (state_->config.tls)
      start_http_session<tls_transport>(state_, std::move(*slot), std::move(socket));
    else
      start_http_session<plain_transport>(state_, std::move(*slot), std::move(socket));
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

uint16_t http_server::port() const {
  return impl_->acceptor ? impl_->acceptor->port() : 0;
}

void http_server::begin_shutdown() {
  impl_->state->stopping.store(true);
  if (impl_->acceptor) impl_->acceptor->stop();
  impl_->state->for_each_session(&session_base::shutdown);
}

void http_server::begin_drain() {
  impl_->state->answering_while_stopping.store(true);
  impl_->state->stopping.store(true);
  impl_->state->for_each_session(&session_base::shutdown);
}

void http_server::stop_accepting() {
  if (impl_->acceptor) impl_->acceptor->stop();
}

void http_server::force_close() {
  impl_->state->for_each_session(&session_base::terminate);
}

std::size_t http_server::open_connections() const {
  return impl_->state->table.open_connections();
}

std::size_t http_server::open_websockets() const {
  return impl_->state->open_websockets.load(std::memory_order_relaxed);
}

}  // namespace kwm::net
