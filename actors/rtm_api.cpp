#include "actors/rtm_api.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "protocol/api_output.hpp"
#include "protocol/connect_key.hpp"
#include "protocol/http_form.hpp"
#include "protocol/rtm_output.hpp"

namespace kwm::actors {
namespace {

// Local services always answer (or bounce the request when they are gone), so requests
// carry no timeout: CAF 0.17 keeps a requester alive until its timeout fires (stack
// notes P3), which would pin every finished request actor for seconds.
constexpr auto no_timeout = caf::infinite;

bool form_body_applies(const net::http_request& request) {
  return (request.method == "POST" || request.method == "PUT" || request.method == "PATCH") &&
         protocol::is_form_content_type(request.header("content-type"));
}

std::optional<protocol::form_values> read_form(const net::http_request& request) {
  protocol::form_values form;
  bool ok = true;
  if (form_body_applies(request)) ok = form.parse(request.body);
  ok = form.parse(request.query) && ok;
  if (!ok) return std::nullopt;
  return form;
}

// Shared by every RTM socket: serialized once.
const net::frame& goodbye_frame() {
  static const net::frame frame = net::make_frame(protocol::goodbye_text());
  return frame;
}

net::http_response request_failed() { return net::http_response::text_error(500, "request failed"); }

}  // namespace

std::string_view websocket_path_prefix(api_version version) {
  return version == api_version::v1 ? "/api/v1/websocket/" : "/api/kwm/v2/rtm/websocket/";
}

void handle_connect(const rtm_services& services, api_version version,
                    std::shared_ptr<net::http_exchange> exchange) {
  const auto form = read_form(exchange->request());
  if (!form) return exchange->respond(net::http_response::text_error(400, "invalid URL escape"));

  // Anonymous mode (D1): the user id is optional and no Authorization is checked.
  protocol::auth_record auth;
  auth.kind = protocol::auth_kind::anonymous;
  auth.user_id = std::string(form->get("user"));

  const uint32_t limit = services.settings.max_connections_per_user;
  services.system->spawn([services, version, exchange, auth = std::move(auth),
                          limit](caf::event_based_actor* self) mutable {
    auto issue = [=] {
      self->request(services.issuer, no_timeout, issue_atom::value, auth)
          .then(
              [=](const std::string& key) {
                std::string url(websocket_path_prefix(version));
                url += key;
                exchange->respond(net::http_response::json(
                    protocol::render_connect_response(url, auth.self(), std::nullopt)));
              },
              [=](const caf::error&) { exchange->respond(request_failed()); });
    };
    if (auth.user_id.empty() || limit == 0) return issue();
    self->request(services.directory, no_timeout, count_atom::value, auth.user_id)
        .then(
            [=](uint64_t live) {
              if (live >= limit)
                return exchange->respond(net::http_response::text_error(429, "too many connections"));
              issue();
            },
            [=](const caf::error&) { exchange->respond(request_failed()); });
  });
}

void handle_websocket_open(const rtm_services& services,
                           std::shared_ptr<net::pending_websocket> websocket, std::string key) {
  if (!protocol::is_well_formed_connect_key(key))
    return websocket->reject(net::http_response::not_found());
  services.system->spawn([services, websocket, key = std::move(key)](caf::event_based_actor* self) {
    self->request(services.issuer, no_timeout, redeem_atom::value, key)
        .then(
            [=](redeemed_key& redeemed) {
              if (!redeemed.found) return websocket->reject(net::http_response::not_found());
              auto sink = websocket->sink();
              connection_ref ref{redeemed.auth.user_id, redeemed.auth.display_name, {}, sink};
              auto connection = spawn_connection(*services.system, std::move(redeemed.auth), sink,
                                                 services.context);
              ref.actor = connection;
              self->request(services.directory, no_timeout, admit_atom::value, std::move(ref),
                            services.settings.max_connections_per_user)
                  .then(
                      [=](bool admitted) {
                        if (!admitted) {
                          caf::anon_send_exit(connection, caf::exit_reason::user_shutdown);
                          return websocket->reject(
                              net::http_response::text_error(429, "too many connections"));
                        }
                        net::websocket_options options;
                        options.farewell = goodbye_frame();
                        websocket->accept(make_connection_listener(connection), std::move(options));
                      },
                      [=](const caf::error&) {
                        caf::anon_send_exit(connection, caf::exit_reason::user_shutdown);
                        websocket->reject(request_failed());
                      });
            },
            [=](const caf::error&) { websocket->reject(request_failed()); });
  });
}

}  // namespace kwm::actors
