#include "app/routes.hpp"

#include "actors/admin_api.hpp"
#include "actors/mcu_api.hpp"
#include "app/metrics_endpoint.hpp"
#include "net/static_files.hpp"
#include "protocol/metrics_text.hpp"
#include "protocol/admin_api.hpp"

namespace kwm::app {
namespace {

void answer_not_found(std::shared_ptr<net::http_exchange> exchange) {
  exchange->respond(net::http_response::not_found());
}

}  // namespace

net::router build_routes(const runtime_options& options, const actors::rtm_services& services) {
  net::router routes;
  // In cluster mode a node that cannot reach Redis says so, and a load balancer that checks
  // health sends new clients to the other nodes.
  routes.add("/health-check", [available = services.cluster_available](std::shared_ptr<net::http_exchange> exchange) {
    exchange->respond(net::http_response::empty(available && !available() ? 503 : 200));
  });

  if (options.enable_rtm_api) {
    net::route_options cors;
    cors.cors = net::cors_config::rtm();
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

  if (options.enable_rtm_api && options.rtm.turn.configured()) {
    net::route_options cors;
    cors.cors = net::cors_config::rtm();
    for (const char* path : {"/api/v1/rtm.turn", "/api/kwm/v2/rtm/turn"})
      routes.add(
          path, [services](std::shared_ptr<net::http_exchange> exchange) { actors::handle_turn(services, std::move(exchange)); },
          cors);
  }

  if (options.enable_guest_api) {
    net::route_options guest;
    guest.cors = net::cors_config::defaults();
    routes.add(
        "/api/kwm/v2/guest/logon",
        [settings = options.guests](std::shared_ptr<net::http_exchange> exchange) {
          actors::handle_guest_logon(settings, exchange);
        },
        guest);
  }

  if (options.www_root) {
    auto files = std::make_shared<net::static_files>(*options.www_root, "");
    routes.add_subtree("/", [files](std::shared_ptr<net::http_exchange> exchange) {
      exchange->respond(files->serve(exchange->request()));
    });
  }
  if (options.docs_root) {
    auto files = std::make_shared<net::static_files>(*options.docs_root, "/docs");
    routes.add_subtree("/docs/", [files](std::shared_ptr<net::http_exchange> exchange) {
      exchange->respond(files->serve(exchange->request()));
    });
    routes.add("/docs", [](std::shared_ptr<net::http_exchange> exchange) {
      exchange->respond(net::http_response::moved_permanently("/docs/"));
    });
  }

  // Admin and MCU routes answer untrusted peers with 403 before anything else, also when
  // the feature is off (the address check comes first, spec §1.1).
  net::route_options trusted;
  trusted.trusted_only = true;
  net::route_options admin_body = trusted;
  admin_body.max_body_bytes = protocol::admin_body_limit;
  admin_body.oversized_body = net::body_policy::truncate_oversized;
  for (const char* path : {"/api/v1/admin/auth/tokens", "/api/kwm/v2/admin/auth/tokens"}) {
    if (services.admin)
      routes.add(
          path,
          [system = services.system, admin = services.admin,
           limits =
               services.settings.connection.fields](std::shared_ptr<net::http_exchange> exchange) {
            actors::handle_admin_tokens(*system, admin, limits, std::move(exchange));
          },
          admin_body);
    else
      routes.add(path, answer_not_found, trusted);
  }
  for (const std::string path : {"/api/v1/mcu/websocket", "/api/kwm/v2/mcu/websocket"}) {
    if (!services.mcu) {
      routes.add(path, answer_not_found, trusted);
      routes.add(path + "/", answer_not_found, trusted);
      continue;
    }
    routes.add_websocket(
        path,
        [services](std::shared_ptr<net::pending_websocket> websocket, std::string) {
          actors::handle_mcu_control_open(services, std::move(websocket));
        },
        trusted);
    routes.add_websocket(
        path + "/",
        [services](std::shared_ptr<net::pending_websocket> websocket, std::string transaction) {
          actors::handle_mcu_data_open(services, std::move(websocket), std::move(transaction));
        },
        trusted);
  }
  return routes;
}

net::router build_metrics_routes(std::shared_ptr<metrics_endpoint> endpoint) {
  net::router routes;
  routes.add("/metrics", [endpoint](std::shared_ptr<net::http_exchange> exchange) {
    net::http_response response;
    response.headers = {{"Content-Type", protocol::metrics_content_type}};
    response.body = endpoint->scrape();
    exchange->respond(std::move(response));
  });
  return routes;
}

}  // namespace kwm::app
