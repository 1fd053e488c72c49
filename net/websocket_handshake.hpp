#pragma once
// The server side of the RFC 6455 opening handshake: is a request a valid upgrade, and the
// 101 response that accepts it. Pure code over the plain request; no sockets.
#include <optional>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace kwm::net {

// The Sec-WebSocket-Accept value for a valid version-13 upgrade request, or nothing when
// the request is not one (GET, HTTP/1.1, Connection: upgrade, Upgrade: websocket, a
// base64 key of 16 bytes, Sec-WebSocket-Version: 13).
std::optional<std::string> websocket_accept_key(const http_request& request, unsigned http_version);

// The complete 101 response head; `subprotocol` is selected when non-empty.
std::string websocket_accept_response(std::string_view accept_key, std::string_view subprotocol);

// Whether a comma-separated header value lists `token` (case-insensitive).
bool header_has_token(std::string_view value, std::string_view token);

}  // namespace kwm::net
