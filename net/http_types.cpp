#include "net/http_types.hpp"

#include <unistd.h>

#include <cstdio>

#include "protocol/json_check.hpp"

namespace kwm::net {

open_file::~open_file() {
  if (descriptor_ >= 0) ::close(descriptor_);
}

std::string peer_address::to_string() const {
  char text[64];
  if (is_v4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", bytes[0], bytes[1], bytes[2], bytes[3]);
    return text;
  }
  std::string out;
  for (int i = 0; i < 16; i += 2) {
    std::snprintf(text, sizeof text, "%s%x", i == 0 ? "" : ":", bytes[i] << 8 | bytes[i + 1]);
    out += text;
  }
  return out;
}

std::string_view http_request::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_case_name) return value;
  return {};
}

bool http_request::has_header(std::string_view lower_case_name) const {
  for (const auto& entry : headers)
    if (entry.first == lower_case_name) return true;
  return false;
}

http_response http_response::text_error(unsigned status, std::string_view message) {
  http_response response;
  response.status = status;
  response.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                      {"X-Content-Type-Options", "nosniff"}};
  response.body.reserve(message.size() + 1);
  response.body.append(message);
  response.body += '\n';
  return response;
}

http_response http_response::json_stream(std::shared_ptr<body_source> source) {
  http_response response;
  response.headers = {{"Content-Type", "application/json"}};
  response.streamed_body = std::move(source);
  return response;
}

http_response http_response::json(std::string body) {
#ifdef KWM_CHECK_OUTPUT
  protocol::require_valid_json_output("HTTP body", body);  // D19, in the test build
#endif
  http_response response;
  response.headers = {{"Content-Type", "application/json"}};
  response.body = std::move(body);
  return response;
}

http_response http_response::empty(unsigned status) {
  http_response response;
  response.status = status;
  return response;
}

http_response http_response::moved_permanently(const std::string& location) {
  http_response response;
  response.status = 301;
  response.headers = {{"Location", location}, {"Content-Type", "text/html; charset=utf-8"}};
  response.body = "<a href=\"" + location + "\">Moved Permanently</a>.\n";
  return response;
}

}  // namespace kwm::net
