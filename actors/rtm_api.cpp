#include "actors/rtm_api.hpp"

#include "actors/connect_client.hpp"
#include "actors/request_runner.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <functional>

#include "protocol/admin_token.hpp"
#include "protocol/api_output.hpp"
#include "protocol/base64.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/connect_key.hpp"
#include "protocol/field_limits.hpp"
#include "protocol/http_form.hpp"
#include "protocol/rtm_output.hpp"
#include "protocol/turn.hpp"

namespace kwm::actors {
namespace {

// Local services always answer (or bounce the request when they are gone), so requests
// carry no timeout: CAF 0.17 keeps a requester alive until its timeout fires (stack
// notes P3), which would pin every finished request actor for seconds.
constexpr auto no_timeout = caf::infinite;

using text_error = net::http_response;

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

net::http_response request_failed() { return text_error::text_error(500, "request failed"); }

// A failed service call: in cluster mode that is Redis being unreachable (503, so a load
// balancer sends the client elsewhere); on a single node it cannot happen.
net::http_response service_failed(const rtm_services& services) {
  if (!services.cluster_available) return request_failed();
  auto response = text_error::text_error(503, "cluster unavailable");
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

bool cluster_unavailable(const rtm_services& services) {
  return services.cluster_available && !services.cluster_available();
}

// The cap of outstanding connect keys is reached (D20); keys expire within seconds.
// 503 when the server holds its cap of keys, 429 when this client holds its share (D20).
net::http_response too_many_pending_connects(bool client_at_cap) {
  auto response = text_error::text_error(client_at_cap ? 429 : 503, "too many pending connects");
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

// The auth record of a request, or nullopt when authentication fails (check 1 of
// spec §1.3). Runs inside a request runner; `done` is called exactly once.
void authenticate(caf::event_based_actor* self, const rtm_services& services,
                  const net::http_request& request, const protocol::form_values& form,
                  std::function<void(std::optional<protocol::auth_record>)> done) {
  const auto& auth = services.settings.auth;
  protocol::auth_record record;
  record.user_id = std::string(form.get("user"));
  if (auth.anonymous()) return done(record);  // D1: any Authorization header is ignored
  const auto header = protocol::parse_authorization(request.header("authorization"));
  if (!header) return done(std::nullopt);
  if (header->type == "Token" && auth.admin_tokens) {
    self->request(services.admin, no_timeout, verify_atom::value, header->value)
        .then(
            [=](const token_verdict& verdict) mutable {
              if (!verdict.valid) return done(std::nullopt);
              record.kind = protocol::auth_kind::token;
              record.subject = verdict.claims.subject;
              record.issued_at = verdict.claims.issued_at;
              record.expires_at = verdict.claims.expires_at;
              done(std::move(record));
            },
            [=](const caf::error&) { done(std::nullopt); });
    return;
  }
  if (header->type == "Bearer" && auth.bearer) {
    // The subject replaces the form's user, so the user check always passes (spec §5.3).
    self->request(services.oidc, no_timeout, verify_atom::value, header->value, std::string(form.get("id_token")),
                  std::string(form.get("auth")))
        .then(
            [=](const bearer_verdict& verdict) mutable {
              if (!verdict.valid) return done(std::nullopt);
              const auto& limits = services.settings.connection.fields;
              record.kind = protocol::auth_kind::bearer;
              record.user_id = verdict.identity.subject;
              record.subject = verdict.identity.subject;
              // The name is only shown (profile, join and leave notices): cut, never refused.
              record.display_name = protocol::truncate_utf8(verdict.display_name, limits.user_bytes);
              record.auth_mode = std::string(form.get("auth"));
              record.credential = header->value;
              record.can_create_channels = verdict.identity.can_create_channels;
              record.group_restriction = verdict.identity.group_restriction;
              // A guest path longer than any group id can never match: not kept (D20).
              if (auto& paths = record.group_restriction; paths && limits.field_bytes != 0)
                std::erase_if(*paths, [&](const std::string& path) { return path.size() > limits.field_bytes; });
              done(std::move(record));
            },
            [=](const caf::error&) { done(std::nullopt); });
    return;
  }
  if (header->type == "Basic" && auth.basic) {
    // The subject is the form's user; without one, Basic fails (spec §5.4).
    if (!auth.basic->allows(header->value) || record.user_id.empty()) return done(std::nullopt);
    record.kind = protocol::auth_kind::basic;
    record.subject = record.user_id;
    if (services.admin)
      caf::anon_send(services.admin, touch_atom::value, std::string("Basic"), record.subject, int64_t{0},
                     int64_t{0});
    return done(std::move(record));
  }
  done(std::nullopt);  // missing, unsupported or unconfigured type
}

// Checks 2 and 3 of spec §1.3 for authenticated modes; nullopt when they pass.
std::optional<net::http_response> check_user(const rtm_services& services,
                                             const protocol::auth_record& auth, bool turn) {
  // D20: a connection's user id fits every frame it appears in (TURN has no such frames).
  const bool too_long = !turn && !services.settings.connection.fields.user_fits(auth.user_id);
  if (auth.kind == protocol::auth_kind::anonymous) {
    if (turn && auth.user_id.empty()) return text_error::text_error(400, "missing user parameter");
    if (too_long) return text_error::text_error(400, protocol::user_too_long);
    return std::nullopt;
  }
  if (auth.user_id.empty()) return text_error::text_error(400, "missing user parameter");
  if (too_long) return text_error::text_error(400, protocol::user_too_long);
  if (auth.user_id != auth.subject && !services.settings.auth.insecure_auth)
    return text_error::text_error(403, "user does not match auth");
  return std::nullopt;
}

// TURN credentials for `user`, computed or fetched; `done` gets nullopt on failure and is
// called exactly once (possibly on an io thread). Without a TURN backend it is not called.
void turn_for(const rtm_services& services, const std::string& user,
              std::function<void(std::optional<protocol::turn_credentials>)> done) {
  const auto& turn = services.settings.turn;
  if (!turn.shared_secret.empty())
    return done(protocol::shared_secret_credentials(turn.shared_secret, user, turn.uris, protocol::unix_seconds_now()));
  net::fetch_options options;
  options.insecure = turn.insecure;
  options.headers = {{"Authorization", "Basic " + protocol::base64_encode(turn.service_credentials,
                                                                          protocol::base64_alphabet::standard)},
                     {"X-Kopano-KWM-User", protocol::turn_service_user_header(user)}};
  turn.fetch(turn.service_url, std::move(options), [done](net::fetch_result result) {
    if (!result.ok || result.status != 200) return done(std::nullopt);
    done(protocol::parse_turn_service_response(result.body));
  });
}

// Connect and turn share their front half (spec §1.3 checks 1–3, §1.4 checks 1–3): read the
// form, authenticate in a request runner, check the user; then `next` runs in that runner.
void with_authenticated_user(
    const rtm_services& services, const std::shared_ptr<net::http_exchange>& exchange, bool turn,
    std::function<void(caf::event_based_actor*, const protocol::auth_record&)> next) {
  auto form = read_form(exchange->request());
  if (!form) return exchange->respond(text_error::text_error(400, "invalid URL escape"));
  services.runners->run([services, exchange, turn, next, form = std::move(*form)](caf::event_based_actor* self) {
    authenticate(self, services, exchange->request(), form, [=](std::optional<protocol::auth_record> auth) {
      // The original's turn endpoint answers a failed authentication with an empty body.
      if (!auth) return exchange->respond(text_error::text_error(403, turn ? "" : "auth failed"));
      if (auto problem = check_user(services, *auth, turn)) return exchange->respond(std::move(*problem));
      next(self, *auth);
    });
  });
}

}  // namespace

std::string_view websocket_path_prefix(api_version version) {
  return version == api_version::v1 ? "/api/v1/websocket/" : "/api/kwm/v2/rtm/websocket/";
}

void handle_connect(const rtm_services& services, api_version version,
                    std::shared_ptr<net::http_exchange> exchange) {
  if (cluster_unavailable(services)) return exchange->respond(service_failed(services));
  with_authenticated_user(
      services, exchange, false, [=](caf::event_based_actor* self, protocol::auth_record auth) {
        auto issue = [=] {
          self->request(services.issuer, no_timeout, issue_atom::value, auth,
                        connect_client_of(auth, exchange->request().peer))
              .then(
                  [=](const issued_key& issued) {
                    if (issued.key.empty())
                      return exchange->respond(too_many_pending_connects(issued.client_at_cap));
                    std::string url(websocket_path_prefix(version));
                    url += issued.key;
                    auto succeed = [=](const std::optional<protocol::turn_credentials>& turn) {
                      server_metrics::bump(services.context->metrics->http_connect_success_total);
                      exchange->respond(net::http_response::json(
                          protocol::render_connect_response(url, auth.self(), turn)));
                    };
                    if (!services.settings.turn.configured()) return succeed(std::nullopt);
                    turn_for(services, auth.user_id,
                             [=](std::optional<protocol::turn_credentials> turn) {
                               if (!turn)
                                 return exchange->respond(
                                     text_error::text_error(503, "TURN config failed"));
                               succeed(turn);
                             });
                  },
                  [=](const caf::error&) { exchange->respond(service_failed(services)); });
        };
        const uint32_t limit = services.settings.max_connections_per_user;
        if (auth.user_id.empty() || limit == 0) return issue();
        self->request(services.directory, no_timeout, count_atom::value, auth.user_id)
            .then(
                [=](uint64_t live) {
                  if (live >= limit)
                    return exchange->respond(text_error::text_error(429, "too many connections"));
                  issue();
                },
                [=](const caf::error&) { exchange->respond(service_failed(services)); });
      });
}

void handle_turn(const rtm_services& services, std::shared_ptr<net::http_exchange> exchange) {
  with_authenticated_user(services, exchange, true, [=](caf::event_based_actor*, const protocol::auth_record& auth) {
    turn_for(services, auth.user_id, [services, exchange](std::optional<protocol::turn_credentials> turn) {
      if (!turn) return exchange->respond(text_error::text_error(500, "TURN config failed"));
      server_metrics::bump(services.context->metrics->http_turn_success_total);
      exchange->respond(net::http_response::json(protocol::render_turn_response(*turn)));
    });
  });
}

void handle_websocket_open(const rtm_services& services,
                           std::shared_ptr<net::pending_websocket> websocket, std::string key) {
  if (!protocol::is_well_formed_connect_key(key))
    return websocket->reject(net::http_response::not_found());
  if (cluster_unavailable(services)) return websocket->reject(service_failed(services));
  services.runners->run([services, websocket, key = std::move(key)](caf::event_based_actor* self) {
    auto open = [=](protocol::auth_record auth) {
      auto sink = websocket->sink();
      connection_ref ref{auth.user_id, auth.display_name, {}, sink};
      auto connection = spawn_connection(*services.system, std::move(auth), sink, services.context);
      ref.actor = connection;
      self->request(services.directory, no_timeout, admit_atom::value, std::move(ref),
                    services.settings.max_connections_per_user)
          .then(
              [=](bool admitted) {
                if (!admitted) {
                  caf::anon_send_exit(connection, caf::exit_reason::user_shutdown);
                  return websocket->reject(text_error::text_error(429, "too many connections"));
                }
                server_metrics::bump(services.context->metrics->http_websocket_success_total);
                net::websocket_options options;
                options.farewell = goodbye_frame();
                options.acknowledges_frames = true;  // the connection actor does (input flow control)
                websocket->accept(make_connection_listener(connection), std::move(options));
              },
              [=](const caf::error&) {
                caf::anon_send_exit(connection, caf::exit_reason::user_shutdown);
                websocket->reject(service_failed(services));
              });
    };
    self->request(services.issuer, no_timeout, redeem_atom::value, key)
        .then(
            [=](redeemed_key& redeemed) {
              if (!redeemed.found) return websocket->reject(net::http_response::not_found());
              auto auth = std::move(redeemed.auth);
              if (auth.kind == protocol::auth_kind::bearer) {
                // The access token is validated again; it must still be unexpired.
                self->request(services.oidc, no_timeout, verify_atom::value, auth.credential, std::string(),
                              auth.auth_mode)
                    .then(
                        [=](const bearer_verdict& verdict) {
                          if (!verdict.valid) return websocket->reject(text_error::text_error(403, verdict.error));
                          open(auth);
                        },
                        [=](const caf::error&) { websocket->reject(request_failed()); });
                return;
              }
              if (auth.kind != protocol::auth_kind::token) return open(std::move(auth));
              // A Token must still be unexpired and unrevoked (spec §1.5 step 3).
              self->request(services.admin, no_timeout, recheck_atom::value, auth.subject, auth.issued_at,
                            auth.expires_at)
                  .then(
                      [=](bool valid) {
                        if (!valid)
                          return websocket->reject(text_error::text_error(403, "invalid or expired token"));
                        open(auth);
                      },
                      [=](const caf::error&) { websocket->reject(request_failed()); });
            },
            [=](const caf::error&) { websocket->reject(service_failed(services)); });
  });
}

}  // namespace kwm::actors
