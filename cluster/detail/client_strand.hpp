#pragma once
// The strand a redis_client runs on, for cluster code that keeps timers beside it (the
// node's heartbeat, the bus's request timeouts): state touched only there needs no locks.
#include "cluster/detail/hiredis_link.hpp"
#include "cluster/redis_client.hpp"

namespace kwm::cluster::detail {

struct client_access {
  static strand_type strand(redis_client& client);
};

inline strand_type strand_of(redis_client& client) {
  return client_access::strand(client);
}

}  // namespace kwm::cluster::detail
