#include "actors/admin_api.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <variant>

#include "protocol/admin_api.hpp"
#include "protocol/field_limits.hpp"

namespace kwm::actors {
namespace {

using net::http_response;

std::variant<protocol::admin_token_object, http_response> parse_body(const net::http_request& request) {
  auto parsed = protocol::parse_admin_token_object(request.body);
  if (auto* error = std::get_if<std::string>(&parsed))
    return http_response::text_error(400, "failed to parse: " + *error);
  return std::get<protocol::admin_token_object>(std::move(parsed));
}

std::optional<http_response> check_new_token(const protocol::admin_token_object& token,
                                             const protocol::field_limits& limits) {
  if (token.type.empty()) return http_response::text_error(400, "type cannot be empty");
  // Its sub becomes a user id: a token that could never connect (`user too long`) is not made.
  if (!limits.user_fits(token.sub)) return http_response::text_error(400, "sub too long");
  if (token.type != "Token") return http_response::text_error(400, "unknown token type: " + token.type);
  if (!token.value.empty()) return http_response::text_error(400, "value must be empty");
  if (token.exp != 0) return http_response::text_error(400, "exp must be 0");
  return std::nullopt;
}

// The token list is rendered a page at a time by the admin_tokens actor (N4): a GET holds
// one page, however long the list and however slowly the client reads.
constexpr uint64_t list_page_bytes = 64 * 1024;

class token_list_source : public net::body_source {
 public:
  token_list_source(caf::actor_system& system, admin_tokens_actor admin, admin_list_page first)
      : system_(system), admin_(std::move(admin)), pending_(std::move(first)) {}

  void next(deliver piece) override {
    if (pending_) {
      auto page = std::move(*pending_);
      pending_.reset();
      after_ = page.after;
      listed_ = page.listed;
      return piece(std::move(page.text));
    }
    if (after_.empty()) return piece(std::string());  // the array was closed: the end
    system_.spawn([admin = admin_, after = after_, listed = listed_, piece = std::move(piece),
                   self_source = this](caf::event_based_actor* self) mutable {
      self->request(admin, caf::infinite, list_atom::value, after, listed, list_page_bytes)
          .then(
              [=](admin_list_page& page) mutable {
                self_source->pending_ = std::move(page);
                self_source->next(std::move(piece));
              },
              [=](const caf::error&) mutable { piece(std::nullopt); });
    });
  }

 private:
  caf::actor_system& system_;
  admin_tokens_actor admin_;
  std::optional<admin_list_page> pending_;
  std::string after_;
  uint64_t listed_ = 0;
};

}  // namespace

void handle_admin_tokens(caf::actor_system& system, const admin_tokens_actor& admin,
                         const protocol::field_limits& limits,
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
      if (auto problem = check_new_token(*body, limits))
        return exchange->respond(std::move(*problem));
    } else if (body->type.empty() || body->sub.empty()) {
      return exchange->respond(http_response::text_error(400, "type or value cannot be empty"));
    }
  }
  system.spawn([&system, admin, exchange, body = std::move(body)](caf::event_based_actor* self) {
    auto failed = [=](const caf::error&) { exchange->respond(http_response::text_error(500, "failed to sign token")); };
    const auto& method = exchange->request().method;
    if (method == "GET") {
      self->request(admin, caf::infinite, list_atom::value, std::string(), uint64_t{0}, list_page_bytes)
          .then([=, &system](admin_list_page& page) {
                  // A list that fits one page is answered whole (with a Content-Length).
                  if (page.after.empty()) return exchange->respond(http_response::json(std::move(page.text)));
                  exchange->respond(http_response::json_stream(
                      std::make_shared<token_list_source>(system, admin, std::move(page))));
                }, failed);
    } else if (method == "POST") {
      self->request(admin, caf::infinite, issue_atom::value, *body)
          .then([=](const protocol::admin_token_object& token) {
                  exchange->respond(http_response::json(protocol::render_admin_token(token)));
                }, failed);
    } else {
      self->request(admin, caf::infinite, delete_atom::value, body->type, body->sub)
          .then([=](revocation_outcome outcome) {
                  switch (outcome) {
                    case revocation_outcome::removed: return exchange->respond(http_response::empty(204));
                    case revocation_outcome::no_record: return exchange->respond(http_response::not_found());
                    case revocation_outcome::store_full:
                      return exchange->respond(http_response::text_error(503, "too many revocations"));
                  }
                }, failed);
    }
  });
}

}  // namespace kwm::actors
