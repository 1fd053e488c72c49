// Bearer (OIDC) authentication: JWS with RSA, RSA-PSS and ECDSA keys, Konnect claims,
// and end to end against a local HTTPS provider stand-in (openssl s_server serving a
// discovery document and a JWKS made by the test, with a self-signed certificate).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "protocol/base64.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/jose.hpp"
#include "protocol/oidc_claims.hpp"
#include "support/process.hpp"
#include "support/raw_client.hpp"
#include "support/rtm_peer.hpp"

using namespace kwm::test;
using kwm::protocol::json_web_key;

namespace {

std::string access_claims(const std::string& issuer, int64_t exp, const std::string& extra = "") {
  const int64_t now = kwm::protocol::unix_seconds_now();
  return R"({"iss":")" + issuer + R"(","sub":"u-1","exp":)" + std::to_string(exp) + R"(,"iat":)" +
         std::to_string(now) + R"(,"kc.isAccessToken":true,"kc.identity":{"kc.i.id":"alice","kc.i.un":"alice@example"},)"
         R"("kc.authorizedScopes":["openid","kopano/kwm"])" + extra + "}";
}

}  // namespace

TEST_CASE("JWS verification with RSA, RSA-PSS and ECDSA keys") {
  const auto rsa = json_web_key::generate("RSA", "rsa-1");
  const auto ec = json_web_key::generate("EC", "ec-1");
  const auto other = json_web_key::generate("RSA", "rsa-1");  // same kid, different key
  const std::vector<json_web_key> keys = {*json_web_key::parse(rsa.to_json(false)), *json_web_key::parse(ec.to_json(false))};
  const std::vector<std::string> allowed = {"RS256", "PS256", "ES256"};
  const std::string payload = R"({"sub":"x"})";
  for (const auto& [key, alg] : std::vector<std::pair<const json_web_key*, std::string>>{
           {&rsa, "RS256"}, {&rsa, "PS256"}, {&ec, "ES256"}}) {
    CAPTURE(alg);
    const auto token = key->sign(alg, payload);
    REQUIRE_FALSE(token.empty());
    const auto verified = kwm::protocol::verify_jws(token, keys, allowed);
    CHECK_FALSE(verified.failure);
    CHECK(verified.payload == payload);
  }
  using kwm::protocol::jws_failure;
  CHECK(kwm::protocol::verify_jws(other.sign("RS256", payload), keys, allowed).failure == jws_failure::bad_signature);
  CHECK(kwm::protocol::verify_jws(rsa.sign("RS384", payload), keys, allowed).failure ==
        jws_failure::algorithm_not_allowed);
  CHECK(kwm::protocol::verify_jws(json_web_key::generate("RSA", "unknown").sign("RS256", payload), keys, allowed)
            .failure == jws_failure::unknown_key);
  CHECK(kwm::protocol::verify_jws("not.a.token", keys, allowed).failure);
  // Found by fuzz/token_fuzzer.cpp: libcjose aborted the process on this input.
  const auto crash = kwm::protocol::base64_decode("eUpoclY9LmV5SmxlAlg9cP//VG9leUpoclY9LmV5SmxlAlg9cP//CS5leUo=",
                                                  kwm::protocol::base64_alphabet::standard);
  REQUIRE(crash);
  CHECK(kwm::protocol::verify_jws(*crash, keys, allowed).failure == jws_failure::malformed);
  CHECK(kwm::protocol::verify_jws("eyJhbGciOiJFUzI1NiJ9.e30=.AAAA", keys, allowed).failure == jws_failure::malformed);
  CHECK(kwm::protocol::verify_jws("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", keys, {"RS256", "none"}).failure);
}

TEST_CASE("Konnect access token claims") {
  kwm::protocol::oidc_policy policy;
  policy.issuer = "https://idp.example";
  policy.required_scopes = {"kopano/kwm"};
  const int64_t now = kwm::protocol::unix_seconds_now();
  auto check = [&](const std::string& claims, std::string_view mode = "") {
    return kwm::protocol::check_access_token_claims(claims, policy, now, mode);
  };
  auto ok = check(access_claims(policy.issuer, now + 60));
  REQUIRE(ok.identity);
  CHECK(ok.identity->subject == "alice");
  CHECK(check(access_claims(policy.issuer, now + 60), "1").identity->subject == "alice@example");
  CHECK(check(access_claims(policy.issuer, now + 60), "2").error == "Token Validation Failed (:0x10b)");
  CHECK(check(access_claims(policy.issuer, now - 1)).error == "Token Expired Or Not Valid Yet (:0x108)");
  CHECK(check(access_claims("https://evil.example", now + 60)).error == "Token Validation Failed (:0x10b)");
  CHECK(check(R"({"iss":"https://idp.example","sub":"x","exp":)" + std::to_string(now + 60) + "}").error ==
        "missing access token claim");
  policy.required_scopes = {"kopano/kwm", "admin"};
  CHECK(check(access_claims(policy.issuer, now + 60)).error == "Missing required scope (:0x10e)");
  policy.required_scopes.clear();

  const std::string guest_identity =
      R"(,"kc.authorizedClaims":{"passthru":{"kopano/kwm/guest":{"type":"1","path":"group/public/room1"}}})";
  auto guest_claims = access_claims(policy.issuer, now + 60, guest_identity);
  guest_claims.replace(guest_claims.find(R"("kc.i.un")"), 0, R"("kc.i.guest":true,)");
  CHECK(check(guest_claims).error == "guest access is not enabled");
  policy.guests_enabled = true;
  const auto guest = check(guest_claims);
  REQUIRE(guest.identity);
  CHECK(guest.identity->guest);
  CHECK_FALSE(guest.identity->can_create_channels);
  CHECK(guest.identity->group_restriction == std::set<std::string>{"group/public/room1"});
}

namespace {


void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

// An HTTPS OIDC provider stand-in: discovery + JWKS files behind openssl s_server.
struct provider_stand_in {
  provider_stand_in() : port(free_loopback_port(SOCK_STREAM)), directory(std::filesystem::temp_directory_path() /
                                                         ("kwm-oidc-" + std::to_string(::getpid()) + "-" + std::to_string(port))) {
    issuer = "https://127.0.0.1:" + std::to_string(port);
    std::filesystem::create_directories(directory);
    const auto made = run_binary({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                  (directory / "key.pem").string(), "-out", (directory / "cert.pem").string(), "-days",
                                  "1", "-subj", "/CN=127.0.0.1"});
    REQUIRE(made.status == 0);
    write_file(directory / ".well-known/openid-configuration",
               R"({"issuer":")" + issuer + R"(","jwks_uri":")" + issuer +
                   R"(/jwks.json","id_token_signing_alg_values_supported":["RS256","PS256","ES256"]})");
    write_file(directory / "jwks.json",
               R"({"keys":[)" + rsa.to_json(false) + "," + ec.to_json(false) + "]}");
    server = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/bin/openssl", "s_server", "-quiet", "-accept", std::to_string(port), "-WWW",
                                 "-cert", (directory / "cert.pem").string(), "-key", (directory / "key.pem").string()},
        std::vector<std::pair<std::string, std::string>>{}, directory.string());
    // Ready once it accepts TCP connections.
    const bool listening = eventually([&] {
      try {
        tcp_socket probe(port, std::chrono::milliseconds(200));
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }, std::chrono::seconds(20));
    if (!listening) server->wait_exit(std::chrono::milliseconds(100));
    REQUIRE_MESSAGE(listening, "openssl s_server did not start: " << server->err << server->out);
  }
  ~provider_stand_in() {
    server.reset();
    std::filesystem::remove_all(directory);
  }

  std::string token(const std::string& claims, const std::string& alg = "RS256") const {
    return alg == "ES256" ? ec.sign(alg, claims) : rsa.sign(alg, claims);
  }

  uint16_t port;
  std::filesystem::path directory;
  std::string issuer;
  json_web_key rsa = json_web_key::generate("RSA", "default");
  json_web_key ec = json_web_key::generate("EC", "ec-key");
  std::unique_ptr<child_process> server;
};

kwm::app::runtime_options bearer_options(const provider_stand_in& provider, bool guests = false) {
  auto options = test_options();
  options.oidc.emplace();
  options.oidc->policy.issuer = provider.issuer;
  options.oidc->policy.required_scopes = {"kopano/kwm"};
  options.oidc->policy.guests_enabled = guests;
  options.oidc->insecure = true;  // the stand-in's certificate is self-signed
  options.oidc->retry_interval = std::chrono::milliseconds(100);
  return options;
}

http_reply bearer_connect(uint16_t port, const std::string& token, const std::string& form) {
  return http_call(port, "POST", "/api/kwm/v2/rtm/connect",
                   {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", "Bearer " + token}}, form);
}

// The provider's keys arrive asynchronously after startup, and in the round-robin run every
// node fetches them by itself: wait until as many connects in a row as there are nodes (one
// per node) accept the token.
bool every_node_accepts(server_fixture& server, const std::string& token,
                        const std::string& form = "") {
  const auto nodes = std::max<std::size_t>(1, cluster_nodes_requested());
  return eventually(
      [&] {
        for (std::size_t i = 0; i < nodes; ++i)
          if (bearer_connect(server.port(), token, form).status != 200) return false;
        return true;
      },
      std::chrono::seconds(15));
}

std::string self_of(const http_reply& reply) {
  const auto doc = parse_json(reply.body);
  return std::string(doc["self"]["id"].GetString()) + "|" + doc["self"]["name"].GetString() + "|" +
         doc["self"]["auth"].GetString();
}

}  // namespace

TEST_CASE("Bearer tokens end to end against an HTTPS provider") {
  provider_stand_in provider;
  server_fixture server(bearer_options(provider));
  const int64_t now = kwm::protocol::unix_seconds_now();
  const auto token = provider.token(access_claims(provider.issuer, now + 300));
  REQUIRE(every_node_accepts(server, token, "user=ignored"));

  auto reply = bearer_connect(server.port(), token, "user=ignored");
  CHECK(self_of(reply) == "alice||");
  ws_client socket(server.port(), parse_json(reply.body)["url"].GetString());
  CHECK(socket.next_text() ==
        std::optional<std::string>(R"({"type":"hello","self":{"id":"alice","name":"","auth":""},"server_status":{}})"));

  CHECK(self_of(bearer_connect(server.port(), token, "auth=1")) == "alice@example||1");
  CHECK(bearer_connect(server.port(), token, "auth=2").status == 403);
  CHECK(self_of(bearer_connect(server.port(), provider.token(access_claims(provider.issuer, now + 300), "PS256"), "")) ==
        "alice||");
  CHECK(self_of(bearer_connect(server.port(), provider.token(access_claims(provider.issuer, now + 300), "ES256"), "")) ==
        "alice||");
  const auto id_token = provider.token(R"({"iss":")" + provider.issuer + R"(","sub":"u-1","name":"Alice A","exp":1})");
  CHECK(self_of(bearer_connect(server.port(), token, "id_token=" + id_token)) == "alice|Alice A|");
  // D20: a display name is cut to 256 bytes at a character boundary; a longer user id is refused.
  std::string long_name;
  for (int i = 0; i < 150; ++i) long_name += "\xC3\xA9";  // 300 bytes
  const auto named = provider.token(R"({"iss":")" + provider.issuer + R"(","sub":"u-1","name":")" + long_name +
                                    R"(","exp":1})");
  CHECK(self_of(bearer_connect(server.port(), token, "id_token=" + named)) == "alice|" + long_name.substr(0, 256) + "|");
  auto long_subject = access_claims(provider.issuer, now + 300);
  long_subject.replace(long_subject.find(R"("kc.i.id":"alice")"), 17, R"("kc.i.id":")" + std::string(257, 'a') + "\"");
  const auto refused = bearer_connect(server.port(), provider.token(long_subject), "");
  CHECK(refused.status == 400);
  CHECK(refused.body == "user too long\n");

  for (const auto& bad : std::vector<std::string>{
           provider.token(access_claims(provider.issuer, now - 5)),                               // expired
           json_web_key::generate("RSA", "default").sign("RS256", access_claims(provider.issuer, now + 300)),  // other key
           provider.token(R"({"iss":")" + provider.issuer + R"(","sub":"u","exp":)" + std::to_string(now + 300) +
                          R"(,"kc.isAccessToken":true})"),  // no required scope
           provider.token(access_claims(provider.issuer, now + 300), "RS512"),  // algorithm not listed
           "garbage"}) {
    const auto rejected = bearer_connect(server.port(), bad, "");
    CHECK(rejected.status == 403);
    CHECK(rejected.body == "auth failed\n");
  }

  // A token that expires between connect and WebSocket open is refused with the validator's text.
  const auto short_lived = provider.token(access_claims(provider.issuer, kwm::protocol::unix_seconds_now() + 1));
  reply = bearer_connect(server.port(), short_lived, "");
  REQUIRE(reply.status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // the subject of the test is expiry
  ws_client late(server.port(), parse_json(reply.body)["url"].GetString());
  CHECK(late.handshake.status == 403);
  CHECK(late.handshake.body == "Token Expired Or Not Valid Yet (:0x108)\n");
}

TEST_CASE("guest Bearer tokens: refused without the guest API, restricted with it") {
  provider_stand_in provider;
  const int64_t now = kwm::protocol::unix_seconds_now();
  auto claims = access_claims(provider.issuer, now + 300,
                              R"(,"kc.authorizedClaims":{"passthru":{"kopano/kwm/guest":{"type":"1","path":"public/room"}}})");
  claims.replace(claims.find(R"("kc.i.id":"alice")"), 17, R"("kc.i.id":"guest-1","kc.i.guest":true)");
  const auto guest_token = provider.token(claims);
  const auto user_token = provider.token(access_claims(provider.issuer, now + 300));
  {
    server_fixture server(bearer_options(provider, false));
    REQUIRE(every_node_accepts(server, user_token));
    CHECK(bearer_connect(server.port(), guest_token, "").status == 403);
  }
  server_fixture server(bearer_options(provider, true));
  REQUIRE(every_node_accepts(server, user_token));
  auto open = [&](const std::string& token) {
    auto reply = bearer_connect(server.port(), token, "");
    REQUIRE(reply.status == 200);
    auto socket = std::make_unique<ws_client>(server.port(), parse_json(reply.body)["url"].GetString());
    REQUIRE(socket->next_text().has_value());
    return socket;
  };
  auto guest = open(guest_token);
  auto join = [](const std::string& group, int id) {
    return R"({"type":"webrtc","subtype":"webrtc_group","id":)" + std::to_string(id) + R"(,"target":")" + group +
           R"(","group":")" + group + R"(","state":"s","v":20180703})";
  };
  guest->send_text(join("public/room", 1));  // empty and guests may not create channels
  CHECK(guest->next_text() ==
        std::optional<std::string>(R"({"type":"error","reply_to":1,"error":{"code":"create_restricted","msg":"access denied"}})"));
  guest->send_text(join("other", 2));
  CHECK(guest->next_text() ==
        std::optional<std::string>(R"({"type":"error","reply_to":2,"error":{"code":"access_restricted","msg":"access denied"}})"));
  guest->send_text(R"({"type":"webrtc","subtype":"webrtc_call","id":3,"target":"alice","initiator":true,"state":"s"})");
  CHECK(guest->next_text() ==
        std::optional<std::string>(R"({"type":"error","reply_to":3,"error":{"code":"access_restricted","msg":"access denied"}})"));
  auto host = open(user_token);
  host->send_text(join("public/room", 1));
  REQUIRE(host->next_text().has_value());
  guest->send_text(join("public/room", 4));  // not empty any more
  const auto joined = parse_json(*guest->next_text());
  CHECK(joined["reply_to"].GetUint64() == 4);
  CHECK(joined["data"]["group"]["members"].Size() == 2);
}

TEST_CASE("a non-https issuer is a startup error") {
  const auto result = run_binary({KWM_SERVER_BINARY, "serve", "--listen", "127.0.0.1:0", "--iss", "http://idp.example"});
  CHECK(result.status == 1);
  CHECK(result.err.find("OIDC provider initialization error") != std::string::npos);
}
