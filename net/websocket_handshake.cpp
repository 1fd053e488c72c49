#include "net/websocket_handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>

namespace kwm::net {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// A header that may repeat: any of its lines lists the token.
bool any_header_has_token(const http_request& request, std::string_view name, std::string_view token) {
  for (const auto& [header, value] : request.headers)
    if (header == name && header_has_token(value, token)) return true;
  return false;
}

bool is_base64_of_16_bytes(std::string_view key) {
  // 16 bytes encode to 22 characters and "==".
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (!std::isalnum(c) && c != '+' && c != '/') return false;
  }
  // Like Go's decoder, the unused low bits of the last character are not checked.
  return true;
}

// RFC 6455 §11.3.1 and §11.3.5: the key and the version must not appear more than once.
bool appears_once(const http_request& request, std::string_view name) {
  std::size_t count = 0;
  for (const auto& field : request.headers) count += field.first == name ? 1 : 0;
  return count == 1;
}

}  // namespace

bool header_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (equal_ignoring_case(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::string> websocket_accept_key(const http_request& request, unsigned http_version) {
  if (request.method != "GET" || http_version != 11) return std::nullopt;
  if (!any_header_has_token(request, "connection", "upgrade")) return std::nullopt;
  if (!any_header_has_token(request, "upgrade", "websocket")) return std::nullopt;
  if (!appears_once(request, "sec-websocket-key") ||
      !appears_once(request, "sec-websocket-version"))
    return std::nullopt;
  if (trim(request.header("sec-websocket-version")) != "13") return std::nullopt;
  const auto key = trim(request.header("sec-websocket-key"));
  if (!is_base64_of_16_bytes(key)) return std::nullopt;
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[32];
  const int size = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(size));
}

std::string websocket_accept_response(std::string_view accept_key, std::string_view subprotocol) {
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  response += accept_key;
  response += "\r\n";
  if (!subprotocol.empty()) {
    response += "Sec-WebSocket-Protocol: ";
    response += subprotocol;
    response += "\r\n";
  }
  response += "\r\n";
  return response;
}

}  // namespace kwm::net
