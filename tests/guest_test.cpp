// Guest logon (spec §1.7, checklist §12.12): names, the request object, the registry
// file, and every check of the endpoint in order.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <re2/re2.h>

#include "app/registration.hpp"
#include "protocol/guest.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;
using kwm::protocol::json_web_key;

TEST_CASE("guest names, ids and the request object claims") {
  CHECK(kwm::protocol::guest_display_name("Jo") == "(Guest)Jo");
  CHECK(kwm::protocol::guest_display_name("  <b>Jo</b> ") == "(Guest)Jo");
  const auto random_name = kwm::protocol::guest_display_name("<i></i> ");
  CHECK(RE2::FullMatch(random_name, R"(\(Guest\)[A-Z][a-z]+ [A-Z][a-z]+[a-z]+)"));
  const auto id = kwm::protocol::new_guest_id();
  CHECK(id.size() == 44 + 11);
  CHECK(id.substr(44) == "@1.kwmguest");
  kwm::protocol::guest_request request{"client-with-keys", "id_token token", "openid profile", "G@1.kwmguest",
                                       "(Guest)Jo", "group/public/room1"};
  CHECK(kwm::protocol::guest_request_claims(request) ==
        R"({"client_id":"client-with-keys","response_type":"id_token token","scope":"openid profile",)"
        R"("claims":{"id_token":{"guest":{"essential":true,"value":"G@1.kwmguest"},"name":{"value":"(Guest)Jo"}},)"
        R"("passthru":{"kopano/kwm/guest":{"type":"1","path":"group/public/room1"}}}})");
  request.response_type.clear();
  request.scope.clear();
  CHECK(kwm::protocol::guest_request_claims(request).find("scope") == std::string::npos);
}

TEST_CASE("the registration file: clients, key choice, application types") {
  const auto key = json_web_key::generate("EC", "default");
  const auto other = json_web_key::generate("EC", "other");
  const auto path = std::filesystem::temp_directory_path() / ("kwm-registration-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "clients:\n"
                      << "  - id: client-with-keys\n    request_object_signing_alg: ES256\n"
                      << "    jwks: {\"keys\": [" << other.to_json(true) << ", " << key.to_json(true) << "]}\n"
                      << "  - id: keyless\n    application_type: web\n";
  auto loaded = kwm::app::load_registration(path.string());
  REQUIRE(std::holds_alternative<std::vector<kwm::protocol::guest_client>>(loaded));
  const auto& clients = std::get<std::vector<kwm::protocol::guest_client>>(loaded);
  REQUIRE(clients.size() == 2);
  REQUIRE(clients[0].signing_key);
  CHECK(clients[0].signing_key->kid() == "default");  // several keys: the one named default
  CHECK_FALSE(clients[1].signing_key);
  std::ofstream(path) << "clients:\n  - id: native\n    application_type: native\n";
  CHECK(std::holds_alternative<std::string>(kwm::app::load_registration(path.string())));
  CHECK(std::holds_alternative<std::string>(kwm::app::load_registration("/nonexistent/registration.yaml")));
  std::filesystem::remove(path);
}

namespace {

const json_web_key& client_key() {
  static const json_web_key key = json_web_key::generate("EC", "default");
  return key;
}

kwm::app::runtime_options guest_options(bool with_registry = true) {
  auto options = test_options();
  options.enable_guest_api = true;
  if (with_registry) {
    kwm::protocol::guest_client client;
    client.id = "client-with-keys";
    client.signing_algorithm = "ES256";
    client.signing_key = *json_web_key::parse(client_key().to_json(true));
    options.guests.clients = std::vector<kwm::protocol::guest_client>{client};
  }
  std::string error;
  options.guests.public_paths = kwm::protocol::search_pattern::compile("^group/public/.*", error);
  return options;
}

http_reply logon(uint16_t port, const std::string& form, const std::string& method = "POST") {
  return http_call(port, method, "/api/kwm/v2/guest/logon", {{"Content-Type", "application/x-www-form-urlencoded"}},
                   form);
}

}  // namespace

TEST_CASE("guest logon checks in order and signs the request object") {
  {
    server_fixture unset(guest_options(false));
    CHECK(logon(unset.port(), "client_id=x").body == "guest access is not set up\n");
  }
  server_fixture server(guest_options());
  const std::string base = "client_id=client-with-keys&guest=1&path=group/public/room1";
  auto reply = logon(server.port(), base, "GET");
  CHECK(reply.status == 405);
  CHECK(reply.body == "\n");
  reply = logon(server.port(), "guest=1&path=group/public/room1");
  CHECK(reply.status == 400);
  CHECK(reply.body == "client_id is empty\n");
  CHECK(logon(server.port(), "client_id=client-with-keys&guest=2&path=p").body == "unknown guest type\n");
  CHECK(logon(server.port(), "client_id=client-with-keys&guest=1&path=%20").body == "empty path\n");
  reply = logon(server.port(), base + "&token=abc");
  CHECK(reply.status == 501);
  CHECK(reply.body == "token validation not implemented\n");
  reply = logon(server.port(), "client_id=client-with-keys&guest=1&path=group/private/x");
  CHECK(reply.status == 403);
  CHECK(reply.body == "guest access denied\n");
  CHECK(logon(server.port(), "client_id=unknown&guest=1&path=group/public/room1").status == 403);

  reply = logon(server.port(), base + "&name=Jo&response_type=id_token%20token&scope=openid%20profile");
  REQUIRE(reply.status == 200);
  const auto doc = parse_json(reply.body);
  CHECK(doc["ok"].GetBool());
  const std::string id = doc["id"].GetString();
  CHECK(id.size() == 55);
  CHECK(std::string(doc["name"].GetString()) == "Jo");
  const std::string request_object = doc["eqp"]["request"].GetString();
  const auto verified = kwm::protocol::verify_jws(request_object, {*json_web_key::parse(client_key().to_json(false))},
                                                  {"ES256"});
  REQUIRE_FALSE(verified.failure);
  const auto claims = parse_json(verified.payload);
  CHECK(std::string(claims["client_id"].GetString()) == "client-with-keys");
  CHECK(std::string(claims["claims"]["id_token"]["guest"]["value"].GetString()) == id);
  CHECK(std::string(claims["claims"]["id_token"]["name"]["value"].GetString()) == "(Guest)Jo");
  CHECK(std::string(claims["claims"]["passthru"]["kopano/kwm/guest"]["path"].GetString()) == "group/public/room1");

  // CORS with the rs/cors defaults: any origin, no credentials.
  reply = http_call(server.port(), "POST", "/api/kwm/v2/guest/logon",
                    {{"Origin", "https://app.example"}, {"Content-Type", "application/x-www-form-urlencoded"}}, base);
  CHECK(reply.header("Access-Control-Allow-Origin") == std::optional<std::string>("*"));
  CHECK_FALSE(reply.header("Access-Control-Allow-Credentials").has_value());
}

TEST_CASE_FIXTURE(server_fixture, "guest logon does not exist without --enable-guest-api") {
  CHECK(http_call(port(), "POST", "/api/kwm/v2/guest/logon").status == 404);
}
