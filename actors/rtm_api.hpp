#pragma once
// The RTM HTTP API (spec §1.3–§1.5): connect, turn and WebSocket open. Each request is
// handled by a short-lived actor that asks the admin token store, the user directory and
// the token issuer, then answers through net.
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/connection.hpp"
#include "net/http_fetch.hpp"
#include "net/http_types.hpp"
#include "protocol/basic_values.hpp"

namespace kwm::actors {

enum class api_version { v1, v2 };

// Which auth backends are configured (spec §5.0); none = anonymous mode (D1).
struct auth_settings {
  bool admin_tokens = false;                  // `Token`
  std::optional<protocol::basic_values> basic;  // `Basic`
  bool bearer = false;                        // `Bearer` (an OIDC issuer is configured)
  bool insecure_auth = false;                 // user need not equal the subject

  bool anonymous() const { return !admin_tokens && !basic && !bearer; }
};

// TURN credentials (spec §6): by shared secret, or from an external credential service.
// The shared secret wins when both are configured.
struct turn_settings {
  std::string shared_secret;
  std::vector<std::string> uris;
  std::string service_url;
  std::string service_credentials;  // "user:password" for the service's Basic auth
  bool insecure = false;            // no TLS verification towards the service
  net::fetcher fetch;               // set by the runtime when the service is used

  bool configured() const { return !shared_secret.empty() || !service_url.empty(); }
};

struct rtm_settings {
  uint32_t max_connections_per_user = 16;  // 0 = unlimited (D17)
  connection_settings connection;
  auth_settings auth;
  turn_settings turn;
};

class request_runners;

struct rtm_services {
  caf::actor_system* system = nullptr;
  token_issuer_actor issuer;
  user_directory_actor directory;
  admin_tokens_actor admin;                    // invalid without an admin tokens key
  oidc_provider_actor oidc;                    // invalid without --iss
  std::shared_ptr<const rtm_context> context;  // handed to every connection actor
  rtm_settings settings;
  mcu_broker_actor mcu;  // invalid without --enable-mcu-api
  // Cluster mode only: whether the cluster is usable (Redis reachable, node registered).
  // Connects and WebSocket opens answer 503 while it is not; unset on a single node.
  std::function<bool()> cluster_available;
  // Where the actor steps of connect, TURN and WebSocket-open requests run.
  std::shared_ptr<request_runners> runners;
};

// The WebSocket path a connect of this API version hands out, up to and including '/'.
std::string_view websocket_path_prefix(api_version version);

void handle_connect(const rtm_services& services, api_version version,
                    std::shared_ptr<net::http_exchange> exchange);

void handle_turn(const rtm_services& services, std::shared_ptr<net::http_exchange> exchange);

void handle_websocket_open(const rtm_services& services,
                           std::shared_ptr<net::pending_websocket> websocket, std::string key);

}  // namespace kwm::actors
