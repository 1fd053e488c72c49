#pragma once
// `--cluster-redis` URLs: redis://[[user]:password@]host[:port][/db]
// The password may be percent-encoded (for '@', ':' or '/'); an IPv6 host is written in
// brackets (redis://[::1]:6379). TLS (rediss://) is refused: hiredis 0.14 has no TLS, and
// Redis belongs on a private network or behind a local TLS tunnel (docs/cluster.md).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kwm::cluster {

struct redis_endpoint {
  std::string host;
  uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user; empty = the default user
  std::string password;  // empty = no AUTH
  int db = 0;            // SELECT db when not 0

  // host:port/db with the password masked, for logs and errors.
  std::string describe() const;
};

struct redis_url_result {
  std::optional<redis_endpoint> endpoint;
  std::string error;  // why the URL was refused, when endpoint is empty
};

redis_url_result parse_redis_url(std::string_view url);

}  // namespace kwm::cluster
