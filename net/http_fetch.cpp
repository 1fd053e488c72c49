#include "net/http_fetch.hpp"

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <memory>
#include <optional>

namespace kwm::net {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct parsed_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

std::optional<parsed_url> parse_url(const std::string& url) {
  parsed_url out;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  out.port = out.tls ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') out.port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  return out;
}

ssl::context& tls_context(bool insecure) {
  static ssl::context verifying = [] {
    ssl::context context(ssl::context::tls_client);
    context.set_default_verify_paths();
    context.set_verify_mode(ssl::verify_peer);
    return context;
  }();
  static ssl::context trusting = [] {
    ssl::context context(ssl::context::tls_client);
    context.set_verify_mode(ssl::verify_none);
    return context;
  }();
  return insecure ? trusting : verifying;
}

// One request/response exchange over `Stream` (tcp_stream or ssl_stream<tcp_stream>).
template <class Stream>
class exchange : public std::enable_shared_from_this<exchange<Stream>> {
 public:
  exchange(asio::io_context& io, Stream stream, parsed_url url, fetch_options options, fetch_callback done)
      : resolver_(io), stream_(std::move(stream)), url_(std::move(url)), options_(std::move(options)),
        done_(std::move(done)) {}

  void start() {
    request_.method_string(options_.method);
    request_.target(url_.target);
    request_.version(11);
    request_.set(http::field::host, url_.host);
    request_.set(http::field::connection, "close");
    for (const auto& [name, value] : options_.headers) request_.set(name, value);
    lowest().expires_after(options_.timeout);
    resolver_.async_resolve(url_.host, url_.port,
                            [self = this->shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
                              if (ec) return self->fail("resolve: " + ec.message());
                              self->lowest().async_connect(r, [self](beast::error_code cec, const tcp::endpoint&) {
                                if (cec) return self->fail("connect: " + cec.message());
                                self->handshake();
                              });
                            });
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void handshake() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      send();
    } else {
      if (!SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str()))
        return fail("TLS: cannot set the server name");
      if (!options_.insecure) stream_.set_verify_callback(ssl::host_name_verification(url_.host));
      stream_.async_handshake(ssl::stream_base::client, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->fail("TLS handshake: " + ec.message());
        self->send();
      });
    }
  }

  void send() {
    http::async_write(stream_, request_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail("write: " + ec.message());
      http::async_read(self->stream_, self->buffer_, self->response_,
                       [self](beast::error_code rec, std::size_t) {
                         if (rec) return self->fail("read: " + rec.message());
                         fetch_result result;
                         result.ok = true;
                         result.status = self->response_.result_int();
                         result.body = std::move(self->response_.body());
                         self->finish(std::move(result));
                       });
    });
  }

  void fail(std::string error) {
    fetch_result result;
    result.error = std::move(error);
    finish(std::move(result));
  }

  void finish(fetch_result result) {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (auto done = std::move(done_)) done(std::move(result));
  }

  tcp::resolver resolver_;
  Stream stream_;
  parsed_url url_;
  fetch_options options_;
  fetch_callback done_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  beast::flat_buffer buffer_;
};

}  // namespace

void fetch(asio::io_context& io, const std::string& url, fetch_options options, fetch_callback done) {
  auto parsed = parse_url(url);
  if (!parsed) {
    fetch_result result;
    result.error = "unsupported URL " + url;
    return done(std::move(result));
  }
  if (parsed->tls) {
    using stream = beast::ssl_stream<beast::tcp_stream>;
    auto& context = tls_context(options.insecure);
    std::make_shared<exchange<stream>>(io, stream(asio::make_strand(io), context), std::move(*parsed),
                                       std::move(options), std::move(done))
        ->start();
  } else {
    std::make_shared<exchange<beast::tcp_stream>>(io, beast::tcp_stream(asio::make_strand(io)), std::move(*parsed),
                                                  std::move(options), std::move(done))
        ->start();
  }
}

}  // namespace kwm::net
