#include "net/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <stdexcept>

namespace kwm::net {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

http_client_response http_request_once(const std::string& method, const std::string& host_port,
                                       const std::string& target,
                                       const std::vector<std::pair<std::string, std::string>>& headers,
                                       std::chrono::milliseconds timeout) {
  std::string host = host_port;
  std::string port = "80";
  const auto colon = host_port.rfind(':');
  if (colon != std::string::npos && host_port.find(']', colon) == std::string::npos) {
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::error_code ec;
  const auto endpoints = resolver.resolve(host, port, ec);
  if (ec) throw std::runtime_error(ec.message());

  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, host_port);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> response;

  // Asynchronous steps so that the stream's deadline covers the whole exchange.
  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](beast::error_code connect_ec, const tcp::endpoint&) {
    if (connect_ec) return void(ec = connect_ec);
    http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
      if (write_ec) return void(ec = write_ec);
      http::async_read(stream, buffer, response,
                       [&](beast::error_code read_ec, std::size_t) { ec = read_ec; });
    });
  });
  io.run();
  if (ec) throw std::runtime_error(ec.message());
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return {response.result_int(), std::move(response.body())};
}

}  // namespace kwm::net
