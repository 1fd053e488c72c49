#pragma once
// The RTM HTTP API (spec §1.3, §1.5): each request is handled by a short-lived actor
// that asks the token issuer and the user directory and then answers through net.
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/actors.hpp"
#include "actors/connection.hpp"
#include "net/http_types.hpp"

namespace kwm::actors {

enum class api_version { v1, v2 };

struct rtm_settings {
  uint32_t max_connections_per_user = 16;  // 0 = unlimited (D17)
  connection_settings connection;
};

struct rtm_services {
  caf::actor_system* system = nullptr;
  token_issuer_actor issuer;
  user_directory_actor directory;
  std::shared_ptr<const rtm_context> context;  // handed to every connection actor
  rtm_settings settings;
};

// The WebSocket path a connect of this API version hands out, up to and including '/'.
std::string_view websocket_path_prefix(api_version version);

void handle_connect(const rtm_services& services, api_version version,
                    std::shared_ptr<net::http_exchange> exchange);

void handle_websocket_open(const rtm_services& services,
                           std::shared_ptr<net::pending_websocket> websocket, std::string key);

}  // namespace kwm::actors
