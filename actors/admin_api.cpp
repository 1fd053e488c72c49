#include "actors/admin_api.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <variant>

#include "protocol/admin_api.hpp"

namespace kwm::actors {
namespace {

using net::http_response;

std::variant<protocol::admin_token_object, http_response> parse_body(const net::http_request& request) {
  auto parsed = protocol::parse_admin_token_object(request.body);
  if (auto* error = std::get_if<std::string>(&parsed))
    return http_response::text_error(400, "failed to parse: " + *error);
  return std::get<protocol::admin_token_object>(std::move(parsed));
}

std::optional<http_response> check_new_token(const protocol::admin_token_object& token) {
  if (token.type.empty()) return http_response::text_error(400, "type cannot be empty");
  if (token.type != "Token") return http_response::text_error(400, "unknown token type: " + token.type);
  if (!token.value.empty()) return http_response::text_error(400, "value must be empty");
  if (token.exp != 0) return http_response::text_error(400, "exp must be 0");
  return std::nullopt;
}

}  // namespace

void handle_admin_tokens(caf::actor_system& system, const admin_tokens_actor& admin,
                         std::shared_ptr<net::http_exchange> exchange) {
  const auto& request = exchange->request();
  if (request.method != "POST" && request.method != "GET" && request.method != "DELETE")
    return exchange->respond(http_response::empty(405));
  std::optional<protocol::admin_token_object> body;
  if (request.method != "GET") {
    auto parsed = parse_body(request);
    if (auto* error = std::get_if<http_response>(&parsed)) return exchange->respond(std::move(*error));
    body = std::get<protocol::admin_token_object>(std::move(parsed));
    if (request.method == "POST") {
      if (auto problem = check_new_token(*body)) return exchange->respond(std::move(*problem));
    } else if (body->type.empty() || body->sub.empty()) {
      return exchange->respond(http_response::text_error(400, "type or value cannot be empty"));
    }
  }
  system.spawn([admin, exchange, body = std::move(body)](caf::event_based_actor* self) {
    auto failed = [=](const caf::error&) { exchange->respond(http_response::text_error(500, "failed to sign token")); };
    const auto& method = exchange->request().method;
    if (method == "GET") {
      self->request(admin, caf::infinite, list_atom::value)
          .then([=](const std::vector<protocol::admin_token_object>& list) {
                  exchange->respond(http_response::json(protocol::render_admin_tokens(list)));
                }, failed);
    } else if (method == "POST") {
      self->request(admin, caf::infinite, issue_atom::value, *body)
          .then([=](const protocol::admin_token_object& token) {
                  exchange->respond(http_response::json(protocol::render_admin_token(token)));
                }, failed);
    } else {
      self->request(admin, caf::infinite, delete_atom::value, body->type, body->sub)
          .then([=](bool existed) {
                  exchange->respond(existed ? http_response::empty(204) : http_response::not_found());
                }, failed);
    }
  });
}

}  // namespace kwm::actors
