// libFuzzer target: raw bytes as an HTTP request through Beast's parser with the server's
// limits, then the target's origin form, the route table, CORS and form reading the server
// applies to it.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "net/cors.hpp"
#include "net/detail/request_framing_check.hpp"
#include "net/router.hpp"
#include "protocol/http_form.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kwm::net::router routes = [] {
    kwm::net::router r;
    r.add("/health-check", [](auto) {});
    r.add("/api/kwm/v2/rtm/connect", [](auto) {});
    r.add_websocket("/api/kwm/v2/rtm/websocket/", [](auto, auto) {});
    r.add("/api/v1/mcu/websocket/", [](auto) {});
    return r;
  }();
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!parser.is_header_done()) return 0;
  const auto& message = parser.get();
  kwm::net::http_request request;
  request.method = std::string(message.method_string());
  // As the server does: an absolute-form target is routed by its path, a suffix of it.
  const std::string original(message.target());
  const std::string target(kwm::net::origin_form_of(original));
  if (target != "/" && (target.size() > original.size() ||
                        original.compare(original.size() - target.size(), target.size(), target) != 0))
    std::abort();
  const auto question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  for (const auto& field : message) request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  (void)routes.find(request.path);
  const auto cors = kwm::net::cors_request_info::of(request);
  kwm::net::http_response response;
  kwm::net::cors_preflight_headers(kwm::net::cors_config::rtm(), cors, response);
  kwm::net::cors_response_headers(kwm::net::cors_config::defaults(), cors, response);
  kwm::protocol::form_values form;
  (void)form.parse(request.query);
  if (parser.is_done()) (void)form.parse(message.body());
  return 0;
}
