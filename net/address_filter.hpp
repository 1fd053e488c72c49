#pragma once
// Trusted networks (D9): a list of CIDR blocks matched against a TCP peer address.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_types.hpp"

namespace kwm::net {

struct network {
  std::array<uint8_t, 16> prefix_bytes{};
  bool is_v4 = true;
  unsigned prefix_length = 0;

  // "10.0.0.0/8", "::1/128", or a single address (full-length prefix).
  static std::optional<network> parse(std::string_view text);
  bool contains(const peer_address& peer) const;
};

class address_filter {
 public:
  address_filter() = default;
  explicit address_filter(std::vector<network> networks) : networks_(std::move(networks)) {}
  static address_filter loopback_only();

  bool allows(const peer_address& peer) const;

 private:
  std::vector<network> networks_;
};

}  // namespace kwm::net
