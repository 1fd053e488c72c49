#pragma once
// CORS for the connect and turn routes, as rs/cors v1.7.0 behaves with the original's
// settings (spec §1.10): any origin, headers Accept/Content-Type/Authorization/Origin,
// credentials allowed, methods GET/POST/HEAD.
#include <string>

#include "net/http_types.hpp"

namespace kwm::net {

struct cors_request_info {
  bool is_preflight = false;
  std::string origin;
  std::string method;
  std::string requested_method;
  std::string requested_headers;

  static cors_request_info of(const http_request& request);
};

// Headers of the answer to a preflight (which is always 200 with an empty body).
void cors_preflight_headers(const cors_request_info& request, http_response& response);
// Headers added to the handler's answer of an actual request.
void cors_response_headers(const cors_request_info& request, http_response& response);

// Go's textproto.CanonicalMIMEHeaderKey: "content-type" → "Content-Type".
std::string canonical_header_name(std::string_view name);

}  // namespace kwm::net
