#pragma once
// Whose share of the outstanding connect keys a connect request takes (D20): an
// authenticated subject, wherever it connects from; otherwise (anonymous mode, where the user
// id is whatever the client sends) its address, IPv6 by /64 as for the connection caps.
#include <string>

#include "net/http_types.hpp"
#include "protocol/auth_record.hpp"

namespace kwm::actors {

// An opaque name, compared only for equality; `peer` is the forwarded client behind a
// trusted proxy.
std::string connect_client_of(const protocol::auth_record& auth, const net::peer_address& peer);

}  // namespace kwm::actors
