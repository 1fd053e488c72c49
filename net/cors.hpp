#pragma once
// CORS as rs/cors v1.7.0 behaves (spec §1.10, §1.7): any origin, methods GET/POST/HEAD,
// a list of allowed request headers, credentials allowed or not.
#include <string>
#include <vector>

#include "net/http_types.hpp"

namespace kwm::net {

struct cors_config {
  bool allow_credentials = true;
  std::vector<std::string> allowed_headers;  // canonical names

  // Connect and turn: Accept, Content-Type, Authorization (and Origin), with credentials.
  static cors_config rtm();
  // rs/cors defaults (guest logon): Origin, Accept, Content-Type, X-Requested-With.
  static cors_config defaults();
};

struct cors_request_info {
  bool is_preflight = false;
  std::string origin;
  std::string method;
  std::string requested_method;
  std::string requested_headers;

  static cors_request_info of(const http_request& request);
};

// Headers of the answer to a preflight (which is always 200 with an empty body).
void cors_preflight_headers(const cors_config& config, const cors_request_info& request, http_response& response);
// Headers added to the handler's answer of an actual request.
void cors_response_headers(const cors_config& config, const cors_request_info& request, http_response& response);

// Go's textproto.CanonicalMIMEHeaderKey: "content-type" → "Content-Type".
std::string canonical_header_name(std::string_view name);

}  // namespace kwm::net
