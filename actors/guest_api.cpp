#include "actors/guest_api.hpp"

#include "protocol/chats_rules.hpp"
#include "protocol/http_form.hpp"

namespace kwm::actors {
namespace {

using net::http_response;

http_response logon(const guest_settings& settings, const net::http_request& request) {
  if (request.method != "POST") return http_response::text_error(405, "");
  if (!settings.clients) return http_response::text_error(404, "guest access is not set up");
  protocol::form_values form;
  bool ok = true;
  if (protocol::is_form_content_type(request.header("content-type"))) ok = form.parse(request.body);
  ok = form.parse(request.query) && ok;
  if (!ok) return http_response::text_error(400, "invalid URL escape");
  const std::string client_id(form.get("client_id"));
  if (client_id.empty()) return http_response::text_error(400, "client_id is empty");  // D10: one line only
  if (form.get("guest") != "1") return http_response::text_error(400, "unknown guest type");
  const std::string path = protocol::trim_space(form.get("path"));
  if (path.empty()) return http_response::text_error(400, "empty path");
  if (form.has("token")) return http_response::text_error(501, "token validation not implemented");
  const auto denied = http_response::text_error(403, "guest access denied");
  if (!settings.public_paths || !settings.public_paths->found_in(path)) return denied;
  const protocol::guest_client* client = nullptr;
  for (const auto& candidate : *settings.clients)
    if (candidate.id == client_id) client = &candidate;
  if (client == nullptr || !client->signing_key || !protocol::is_signing_algorithm(client->signing_algorithm))
    return denied;

  protocol::guest_request guest;
  guest.client_id = client_id;
  guest.response_type = std::string(form.get("response_type"));
  guest.scope = std::string(form.get("scope"));
  guest.guest_id = protocol::new_guest_id();
  guest.display_name = protocol::guest_display_name(form.get("name"));
  guest.path = path;
  const auto request_object =
      client->signing_key->sign(client->signing_algorithm, protocol::guest_request_claims(guest));
  if (request_object.empty()) return denied;  // e.g. a public key without its private part
  return http_response::json(protocol::render_guest_logon(request_object, guest.guest_id, form.get("name")));
}

}  // namespace

void handle_guest_logon(const guest_settings& settings, const std::shared_ptr<net::http_exchange>& exchange) {
  auto response = logon(settings, exchange->request());
  if (response.status == 200) server_metrics::bump(settings.metrics->guest_http_logon_success_total);
  exchange->respond(std::move(response));
}

}  // namespace kwm::actors
