#pragma once
// Guest logon (spec §1.7): POST /api/kwm/v2/guest/logon signs an OIDC request object for
// a guest of a public group. No actor is involved; this is the API layer's only handler
// that answers on the io thread.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/metrics.hpp"
#include "net/http_types.hpp"
#include "protocol/guest.hpp"
#include "protocol/search_pattern.hpp"

namespace kwm::actors {

struct guest_settings {
  std::optional<std::vector<protocol::guest_client>> clients;  // nullopt: no --registration-conf
  std::optional<protocol::search_pattern> public_paths;         // --public-guest-access-regexp (D22)
  metrics_pointer metrics = std::make_shared<server_metrics>();
};

void handle_guest_logon(const guest_settings& settings, const std::shared_ptr<net::http_exchange>& exchange);

}  // namespace kwm::actors
