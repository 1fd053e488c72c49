#pragma once
// The admin token API (spec §1.6) on both API versions: POST, GET and DELETE answered by
// the admin token store. Only trusted peers get here (net checks that first, D9).
#include <memory>

#include "actors/actors.hpp"
#include "net/http_types.hpp"

namespace kwm::actors {

void handle_admin_tokens(caf::actor_system& system, const admin_tokens_actor& admin,
                         std::shared_ptr<net::http_exchange> exchange);

}  // namespace kwm::actors
