#pragma once
// The admin token API (spec §1.6) on both API versions: POST, GET and DELETE answered by
// the admin token store. Only trusted peers get here (net checks that first, D9).
#include <memory>

#include "actors/actors.hpp"
#include "net/http_types.hpp"
#include "protocol/field_limits.hpp"

namespace kwm::actors {

// `limits`: a new token's sub must fit the user id limit (D20), or it could never connect.
void handle_admin_tokens(caf::actor_system& system, const admin_tokens_actor& admin,
                         const protocol::field_limits& limits,
                         std::shared_ptr<net::http_exchange> exchange);

}  // namespace kwm::actors
