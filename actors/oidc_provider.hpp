#pragma once
// The OIDC provider actor: fetches the issuer's discovery document and JWKS through the
// server's HTTPS client, refreshes them periodically, and validates Bearer tokens.
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "net/http_fetch.hpp"
#include "protocol/jose.hpp"

namespace kwm::actors {

struct oidc_settings {
  protocol::oidc_policy policy;  // issuer, required scopes, guest rules
  bool insecure = false;         // --insecure: no TLS verification
  std::chrono::milliseconds refresh_interval{300'000};
  std::chrono::milliseconds retry_interval{5'000};
  net::fetcher fetch;  // outbound HTTP(S) on the server's io_context
};

struct oidc_provider_state {
  static inline const char* name = "oidc_provider";

  oidc_settings settings;
  std::string jwks_uri;
  std::vector<std::string> algorithms;  // id_token_signing_alg_values_supported
  std::vector<protocol::json_web_key> keys;
  bool ready = false;
  bool refreshing = false;
};

using oidc_provider_impl = oidc_provider_actor::stateful_base<oidc_provider_state>;

oidc_provider_actor spawn_oidc_provider(caf::actor_system& system, oidc_settings settings);

}  // namespace kwm::actors
