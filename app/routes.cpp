#include "app/routes.hpp"

namespace kwm::app {
namespace {

void answer_not_found(std::shared_ptr<net::http_exchange> exchange) {
  exchange->respond(net::http_response::not_found());
}

}  // namespace

net::router build_routes(const runtime_options& options, const actors::rtm_services& services) {
  net::router routes;
  routes.add("/health-check", [](std::shared_ptr<net::http_exchange> exchange) {
    exchange->respond(net::http_response::empty(200));
  });

  if (options.enable_rtm_api) {
    net::route_options cors;
    cors.cors = true;
    for (auto version : {actors::api_version::v1, actors::api_version::v2}) {
      const std::string connect_path =
          version == actors::api_version::v1 ? "/api/v1/rtm.connect" : "/api/kwm/v2/rtm/connect";
      routes.add(
          connect_path,
          [services, version](std::shared_ptr<net::http_exchange> exchange) {
            actors::handle_connect(services, version, std::move(exchange));
          },
          cors);
      routes.add_websocket(std::string(actors::websocket_path_prefix(version)),
                           [services](std::shared_ptr<net::pending_websocket> websocket,
                                      std::string key) {
                             actors::handle_websocket_open(services, std::move(websocket),
                                                           std::move(key));
                           });
    }
  }

  // Disabled admin and MCU routes still answer untrusted peers with 403 before the 404
  // (the address check comes first, spec §1.1).
  net::route_options trusted;
  trusted.trusted_only = true;
  for (const char* path : {"/api/v1/admin/auth/tokens", "/api/kwm/v2/admin/auth/tokens",
                           "/api/v1/mcu/websocket", "/api/kwm/v2/mcu/websocket",
                           "/api/v1/mcu/websocket/", "/api/kwm/v2/mcu/websocket/"})
    routes.add(path, answer_not_found, trusted);
  return routes;
}

}  // namespace kwm::app
