#include "cluster/redis_url.hpp"

#include <charconv>

namespace kwm::cluster {
namespace {

constexpr std::string_view scheme = "redis://";
constexpr int max_database = 1 << 20;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

template <class Integer>
bool parse_decimal(std::string_view text, Integer& value) {
  if (text.empty()) return false;
  const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  return problem == std::errc() && end == text.data() + text.size();
}

redis_url_result refuse(std::string why) {
  return {std::nullopt, std::move(why)};
}

}  // namespace

std::string redis_endpoint::describe() const {
  std::string out = "redis://";
  if (!username.empty() || !password.empty()) out += username + ":***@";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port);
  if (db != 0) out += "/" + std::to_string(db);
  return out;
}

redis_url_result parse_redis_url(std::string_view url) {
  if (url.starts_with("rediss://"))
    return refuse(
        "rediss:// (TLS) is not supported; reach Redis over a private network or a local TLS "
        "tunnel");
  if (!url.starts_with(scheme)) return refuse("the URL must start with redis://");
  std::string_view rest = url.substr(scheme.size());
  if (const auto query = rest.find_first_of("?#"); query != std::string_view::npos)
    return refuse("query parameters and fragments are not supported");

  redis_endpoint endpoint;
  // The password may contain '@' only percent-encoded, so the last '@' ends the userinfo.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    const auto user = percent_decode(userinfo.substr(0, colon));
    if (!user) return refuse("invalid percent-encoding in the user name");
    endpoint.username = *user;
    if (colon != std::string_view::npos) {
      const auto password = percent_decode(userinfo.substr(colon + 1));
      if (!password) return refuse("invalid percent-encoding in the password");
      endpoint.password = *password;
    } else if (!endpoint.username.empty()) {
      // redis://secret@host: a lone userinfo is the password (redis-cli and most clients).
      endpoint.password = std::move(endpoint.username);
      endpoint.username.clear();
    }
    if (!endpoint.username.empty() && endpoint.password.empty())
      return refuse("a user name needs a password");
  }

  std::string_view authority = rest;
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }

  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return refuse("unterminated IPv6 address");
    endpoint.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return refuse("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return refuse("empty port");
    }
  } else {
    const auto colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return refuse("empty port");
    }
  }
  if (endpoint.host.empty()) return refuse("the URL has no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    if (!parse_decimal(port_text, port) || port == 0 || port > 65535) return refuse("invalid port");
    endpoint.port = static_cast<uint16_t>(port);
  }
  if (!path.empty()) {
    if (!parse_decimal(path, endpoint.db) || endpoint.db < 0 || endpoint.db > max_database)
      return refuse("the path must be a database number");
  }
  return {std::move(endpoint), {}};
}

}  // namespace kwm::cluster
