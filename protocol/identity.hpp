#pragma once
// What a connection is known as: the `self` object of connect and hello (spec §5.7).
#include <string>
#include <vector>

namespace kwm::protocol {

struct self_info {
  std::string id;
  std::string name;
  std::string auth;
  bool with_auth = false;  // anonymous mode omits the `auth` key (D1)
};

// TURN credentials (spec §6), written as {"username","password","ttl","uris"}.
struct turn_credentials {
  std::string username;
  std::string password;
  int64_t ttl = 0;
  std::vector<std::string> uris;
};

}  // namespace kwm::protocol
