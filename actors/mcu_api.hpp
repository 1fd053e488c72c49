#pragma once
// The MCU WebSocket routes (spec §1.8): control sockets and per-pipeline data sockets, both
// requiring the kwmmcu-protocol subprotocol (D11). Trusted networks, the feature switch and
// GET are checked by the route table before these run.
#include <memory>
#include <string>

#include "actors/rtm_api.hpp"
#include "net/http_types.hpp"

namespace kwm::actors {

void handle_mcu_control_open(const rtm_services& services, std::shared_ptr<net::pending_websocket> websocket);
void handle_mcu_data_open(const rtm_services& services, std::shared_ptr<net::pending_websocket> websocket,
                          std::string transaction);

}  // namespace kwm::actors
