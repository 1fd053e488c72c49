#include "actors/connect_client.hpp"

#include "net/client_address.hpp"

namespace kwm::actors {

std::string connect_client_of(const protocol::auth_record& auth, const net::peer_address& peer) {
  if (auth.kind != protocol::auth_kind::anonymous)
    return "u" + (auth.subject.empty() ? auth.user_id : auth.subject);
  const auto address = net::address_key_of(peer);
  std::string name(1, address.is_v4 ? '4' : '6');
  for (int shift = 56; shift >= 0; shift -= 8)
    name.push_back(static_cast<char>(address.bits >> shift & 0xff));
  return name;
}

}  // namespace kwm::actors
