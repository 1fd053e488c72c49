#include "net/address_filter.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace kwm::net {

std::optional<network> network::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  network result;
  unsigned max_length = 0;
  if (inet_pton(AF_INET, address.c_str(), result.prefix_bytes.data()) == 1) {
    result.is_v4 = true;
    max_length = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), result.prefix_bytes.data()) == 1) {
    result.is_v4 = false;
    max_length = 128;
  } else {
    return std::nullopt;
  }
  result.prefix_length = max_length;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    unsigned length = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (error != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
        length > max_length)
      return std::nullopt;
    result.prefix_length = length;
  }
  return result;
}

bool network::contains(const peer_address& peer) const {
  if (peer.is_v4 != is_v4) return false;
  unsigned remaining = prefix_length;
  for (size_t i = 0; remaining > 0; ++i) {
    const unsigned bits = remaining >= 8 ? 8 : remaining;
    const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - bits));
    if ((peer.bytes[i] & mask) != (prefix_bytes[i] & mask)) return false;
    remaining -= bits;
  }
  return true;
}

address_filter address_filter::loopback_only() {
  return address_filter({*network::parse("127.0.0.0/8"), *network::parse("::1/128")});
}

bool address_filter::allows(const peer_address& peer) const {
  for (const auto& n : networks_)
    if (n.contains(peer)) return true;
  return false;
}

}  // namespace kwm::net
