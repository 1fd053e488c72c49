#pragma once
// Listen addresses as the original writes them: "host:port", "[v6]:port" or ":port".
#include <cstdint>
#include <optional>
#include <string>

namespace kwm::app {

struct listen_address {
  std::string host;  // ":port" means all interfaces: 0.0.0.0
  uint16_t port = 0;
};

std::optional<listen_address> parse_listen(const std::string& text);

}  // namespace kwm::app
