#include "net/client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace kwm::net {
namespace {

// HTTP's optional whitespace around list elements.
std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

address_key address_key_of(const peer_address& peer) {
  address_key key;
  key.is_v4 = peer.is_v4;
  const std::size_t significant = peer.is_v4 ? 4 : 8;
  for (std::size_t i = 0; i < significant; ++i) key.bits = key.bits << 8 | peer.bytes[i];
  return key;
}

std::optional<peer_address> parse_forwarded_hop(std::string_view hop) {
  if (!hop.empty() && hop.front() == '[') {  // [v6] or [v6]:port
    const auto close = hop.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    hop = hop.substr(1, close - 1);
  } else if (std::count(hop.begin(), hop.end(), ':') == 1) {  // v4:port
    hop = hop.substr(0, hop.find(':'));
  }
  if (hop.empty() || hop.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string text(hop);
  peer_address address;
  if (inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) return address;
  if (inet_pton(AF_INET6, text.c_str(), address.bytes.data()) != 1) return std::nullopt;
  address.is_v4 = false;
  static constexpr uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(address.bytes.data(), v4_mapped, sizeof v4_mapped) == 0) {
    std::memmove(address.bytes.data(), address.bytes.data() + 12, 4);
    std::fill(address.bytes.begin() + 4, address.bytes.end(), 0);
    address.is_v4 = true;
  }
  return address;
}

std::optional<peer_address> forwarded_client(const std::vector<std::string_view>& values,
                                             const address_filter& trusted_proxies) {
  std::vector<std::string_view> hops;
  for (auto value : values) {
    while (!value.empty()) {
      const auto comma = value.find(',');
      const auto hop = trim_ows(value.substr(0, comma));
      if (!hop.empty()) hops.push_back(hop);
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
  }
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const auto address = parse_forwarded_hop(*hop);
    if (!address) return std::nullopt;
    if (!trusted_proxies.allows(*address) || std::next(hop) == hops.rend()) return address;
  }
  return std::nullopt;
}

}  // namespace kwm::net
