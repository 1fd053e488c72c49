#pragma once
// Who a connection counts as for the per-address connection cap (D20): the TCP peer, or
// behind a trusted proxy the client named in X-Forwarded-For. That header lists one address
// per hop, each proxy appending the peer it got the request from. Walking from the right,
// the first hop that is not a trusted proxy is the client; everything to its left was
// written by that client and may be forged.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "net/address_filter.hpp"
#include "net/http_types.hpp"

namespace kwm::net {

// What the cap counts: an IPv4 address, or the /64 of an IPv6 address (one subscriber's
// network, in which a single host can take any address it likes).
struct address_key {
  uint64_t bits = 0;
  bool is_v4 = true;
  bool operator==(const address_key&) const = default;
};

address_key address_key_of(const peer_address& peer);

// `values`: every X-Forwarded-For value of the request, in the order received. nullopt when
// there is no usable answer (no hop, or the deciding hop is not an address): the caller then
// keeps the TCP peer. When every hop is a trusted proxy, the leftmost one is the client.
std::optional<peer_address> forwarded_client(const std::vector<std::string_view>& values,
                                             const address_filter& trusted_proxies);

// One hop: "192.0.2.1" or "2001:db8::1", optionally with a port ("192.0.2.1:4711",
// "[2001:db8::1]:4711"); IPv4-mapped IPv6 addresses are taken as IPv4.
std::optional<peer_address> parse_forwarded_hop(std::string_view hop);

}  // namespace kwm::net
