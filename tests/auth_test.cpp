// End-to-end authentication: the admin token API sequence of spec §8.1 on both paths,
// Token and Basic auth on connect, turn and WebSocket open, revocation (D9), pong
// renewal (D8), per-connection auth (D7) and TURN credentials.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <cstdlib>

#include "protocol/admin_token.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/turn.hpp"
#include "support/process.hpp"
#include "support/rtm_peer.hpp"
#include "support/hostile_client.hpp"
#include "support/stub_http_server.hpp"

using namespace kwm::test;

namespace {

const std::string server_key = "0123456789abcdef0123456789abcdef-test-key";

kwm::app::runtime_options auth_options() {
  auto options = token_auth_options(server_key);
  options.admin_tokens->record_idle = std::chrono::milliseconds(300);
  options.admin_tokens->sweep_interval = std::chrono::milliseconds(100);
  options.rtm.auth.basic = kwm::protocol::basic_values::parse("dXNlcjpwYXNz\n\n# not a value\n");
  options.rtm.turn.shared_secret = "supersecret";
  options.rtm.turn.uris = {"turn:127.0.0.1:3478?transport=udp", "turns:turn.example:443?transport=tcp"};
  return options;
}

const std::vector<std::pair<std::string, std::string>> json_header = {{"Content-Type", "application/json"}};

void run_admin_sequence(uint16_t port, const std::string& path) {
  auto reply = http_call(port, "GET", path);
  CHECK(reply.status == 200);
  CHECK(reply.header("Content-Type") == std::optional<std::string>("application/json"));
  CHECK(reply.body == "[]\n");

  reply = http_call(port, "POST", path, json_header, R"({"type": "Token"})");
  REQUIRE(reply.status == 200);
  auto token = parse_json(reply.body);
  CHECK(std::string(token["type"].GetString()) == "Token");
  CHECK(std::string(token["sub"].GetString()).size() == 44);
  CHECK(std::string(token["value"].GetString()).size() > 20);
  const int64_t now = kwm::protocol::unix_seconds_now();
  CHECK(token["exp"].GetInt64() > now + 364 * 24 * 3600);

  CHECK(parse_json(http_call(port, "GET", path).body).Size() == 1);
  CHECK(http_call(port, "POST", path, json_header, R"({"type": "Token", "sub": "wonderful"})").status == 200);
  CHECK(parse_json(http_call(port, "GET", path).body).Size() == 2);

  reply = http_call(port, "DELETE", path, json_header, R"({"type": "Token", "sub": "does-not-exist"})");
  CHECK(reply.status == 404);
  CHECK(reply.header("Content-Type") == std::optional<std::string>("text/plain; charset=utf-8"));
  CHECK(reply.body == "404 page not found\n");
  CHECK(parse_json(http_call(port, "GET", path).body).Size() == 2);

  reply = http_call(port, "DELETE", path, json_header, R"({"type": "Token", "sub": "wonderful"})");
  CHECK(reply.status == 204);
  CHECK_FALSE(reply.header("Content-Type").has_value());
  CHECK(reply.body.empty());
  CHECK(parse_json(http_call(port, "GET", path).body).Size() == 1);

  // Step 10 with a record idle time of 300 ms instead of 60 s.
  CHECK(eventually([&] { return http_call(port, "GET", path).body == "[]\n"; }));
}

}  // namespace

TEST_CASE("the admin token test sequence passes on both admin paths") {
  for (const char* path : {"/api/kwm/v2/admin/auth/tokens", "/api/v1/admin/auth/tokens"}) {
    CAPTURE(path);
    server_fixture server(auth_options());
    run_admin_sequence(server.port(), path);
  }
}

TEST_CASE("admin API errors") {
  server_fixture server(auth_options());
  const std::string path = "/api/kwm/v2/admin/auth/tokens";
  auto post = [&](const std::string& body) { return http_call(server.port(), "POST", path, json_header, body); };
  auto reply = post("not json");
  CHECK(reply.status == 400);
  CHECK(reply.body.rfind("failed to parse: ", 0) == 0);
  CHECK(post("{}").body == "type cannot be empty\n");
  CHECK(post(R"({"type":"Basic"})").body == "unknown token type: Basic\n");
  CHECK(post(R"({"type":"Token","value":"x"})").body == "value must be empty\n");
  CHECK(post(R"({"type":"Token","exp":5})").body == "exp must be 0\n");
  // A sub over the user id limit could never connect (`user too long`): no such token is made.
  reply = post(R"({"type":"Token","sub":")" + std::string(257, 's') + R"("})");
  CHECK(reply.status == 400);
  CHECK(reply.body == "sub too long\n");
  CHECK(post(R"({"type":"Token","sub":")" + std::string(256, 's') + R"("})").status == 200);
  reply = post(R"({"type":"Token","sub":")" + std::string(6000, 'a') + R"("})");
  CHECK(reply.status == 400);
  CHECK(reply.body == "failed to parse: unexpected end of JSON input\n");
  reply = http_call(server.port(), "DELETE", path, json_header, "{}");
  CHECK(reply.body == "type or value cannot be empty\n");
  reply = http_call(server.port(), "PUT", path);
  CHECK(reply.status == 405);
  CHECK(reply.body.empty());
  CHECK_FALSE(reply.header("Content-Type").has_value());
}

TEST_CASE("Token auth on connect, WebSocket and every rejection (D2)") {
  server_fixture server(auth_options());
  const auto token = new_token(server.port(), "alice");
  auto reply = connect_with(server.port(), "Token " + token, "alice");
  REQUIRE(reply.status == 200);
  const auto doc = parse_json(reply.body);
  CHECK(std::string(doc["self"]["auth"].GetString()).empty());  // self carries auth in this mode
  ws_client socket(server.port(), url_of(reply));
  REQUIRE(socket.is_open());
  CHECK(socket.next_text() == std::optional<std::string>(R"({"type":"hello","self":{"id":"alice","name":"","auth":""},"server_status":{}})"));

  CHECK(connect_with(server.port(), "Token " + token, "").status == 400);
  CHECK(connect_with(server.port(), "Token " + token, "").body == "missing user parameter\n");
  reply = connect_with(server.port(), "Token " + token, "bob");
  CHECK(reply.status == 403);
  CHECK(reply.body == "user does not match auth\n");

  const std::string forged =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJleHAiOjE4MjcyMTg1OTgsImlhdCI6MTc5NTY4MjU5OCwic3ViIjoibWFsbG9yeSJ9.";
  const int64_t now = kwm::protocol::unix_seconds_now();
  for (const std::string& authorization : std::vector<std::string>{
       std::string(), std::string("Token"), "Foo x", "token " + token, "Token " + forged, "Token abc", "Token a.b",
        "Token a.b.c.d", "Token !!!.???.***", "Bearer " + token,
        "Token " + kwm::protocol::sign_admin_token("another key of at least thirty-two bytes", {"alice", now, now + 60}),
        "Token " + kwm::protocol::sign_admin_token(server_key, {"alice", now - 100, now - 10})}) {
    CAPTURE(authorization);
    reply = connect_with(server.port(), authorization, "alice");
    CHECK(reply.status == 403);
    CHECK(reply.body == "auth failed\n");
  }
  // The connection survives all of that; a token whose record expired still works.
  CHECK(eventually([&] { return http_call(server.port(), "GET", "/api/v1/admin/auth/tokens").body == "[]\n"; }));
  CHECK(connect_with(server.port(), "Token " + token, "alice").status == 200);
  CHECK(http_call(server.port(), "GET", "/api/v1/admin/auth/tokens").body.find(R"("sub":"alice","type":"Token")") !=
        std::string::npos);
}

TEST_CASE("--insecure-auth lets any valid token connect as any user") {
  auto options = auth_options();
  options.rtm.auth.insecure_auth = true;
  server_fixture server(options);
  const auto token = new_token(server.port(), "alice");
  CHECK(connect_with(server.port(), "Token " + token, "bob").status == 200);
}

TEST_CASE("revocation: DELETE makes old tokens fail everywhere (D9)") {
  server_fixture server(auth_options());
  const std::string path = "/api/kwm/v2/admin/auth/tokens";
  const auto token = new_token(server.port(), "carol");
  const auto before = connect_with(server.port(), "Token " + token, "carol");
  REQUIRE(before.status == 200);
  CHECK(http_call(server.port(), "DELETE", path, json_header, R"({"type":"Token","sub":"carol"})").status == 204);
  CHECK(connect_with(server.port(), "Token " + token, "carol").status == 403);
  ws_client late(server.port(), url_of(before));
  CHECK(late.handshake.status == 403);
  CHECK(late.handshake.body == "invalid or expired token\n");
  CHECK(http_call(server.port(), "GET", path).body.find("carol") == std::string::npos);  // not re-created
  const auto fresh = new_token(server.port(), "carol");
  CHECK(connect_with(server.port(), "Token " + fresh, "carol").status == 200);

  // DELETE without a record still revokes the subject's older tokens.
  const int64_t now = kwm::protocol::unix_seconds_now();
  const auto older = kwm::protocol::sign_admin_token(server_key, {"dave", now - 5, now + 3600});
  CHECK(http_call(server.port(), "DELETE", path, json_header, R"({"type":"Token","sub":"dave"})").status == 404);
  CHECK(connect_with(server.port(), "Token " + older, "dave").status == 403);
}

TEST_CASE("a token near expiry is renewed in the pong, once (D8)") {
  server_fixture server(auth_options());
  const int64_t now = kwm::protocol::unix_seconds_now();
  const auto token = kwm::protocol::sign_admin_token(server_key, {"erin", now, now + 600});
  const auto reply = connect_with(server.port(), "Token " + token, "erin");
  REQUIRE(reply.status == 200);
  ws_client socket(server.port(), url_of(reply));
  REQUIRE(socket.next_text().has_value());
  socket.send_text(R"({"type":"ping","id":7,"ts":1})");
  const auto pong = parse_json(*socket.next_text());
  REQUIRE(pong.HasMember("auth"));
  CHECK(std::string(pong["type"].GetString()) == "pong");
  const auto renewed = kwm::protocol::verify_admin_token(pong["auth"].GetString(), server_key, now);
  REQUIRE(renewed);
  CHECK(renewed->subject == "erin");
  CHECK(renewed->expires_at >= now + 365 * 24 * 3600 - 5);
  socket.send_text(R"({"type":"ping","id":8})");
  CHECK(socket.next_text() == std::optional<std::string>(R"({"id":8,"type":"pong"})"));
  // The renewed token authenticates like any other.
  CHECK(connect_with(server.port(), std::string("Token ") + pong["auth"].GetString(), "erin").status == 200);
}

TEST_CASE("Basic auth, records, and auth kept per connection (D7)") {
  server_fixture server(auth_options());
  auto reply = connect_with(server.port(), "Basic dXNlcjpwYXNz", "frank");
  REQUIRE(reply.status == 200);
  CHECK(connect_with(server.port(), "Basic dXNlcjpwYXNz", "gina").status == 200);  // any user
  CHECK(connect_with(server.port(), "Basic b3RoZXI=", "frank").status == 403);
  CHECK(connect_with(server.port(), "Basic dXNlcjpwYXNz", "").status == 403);
  CHECK(connect_with(server.port(), "Basic ", "frank").status == 403);  // a blank line is no value
  CHECK(http_call(server.port(), "GET", "/api/v1/admin/auth/tokens").body.find(R"({"sub":"frank","type":"Basic"})") !=
        std::string::npos);

  // frank with Basic and with a Token: each socket keeps its own auth.
  auto basic_socket = std::make_unique<ws_client>(server.port(), url_of(reply));
  const auto token = new_token(server.port(), "frank");
  ws_client token_socket(server.port(), url_of(connect_with(server.port(), "Token " + token, "frank")));
  const std::string hello = R"({"type":"hello","self":{"id":"frank","name":"","auth":""},"server_status":{}})";
  CHECK(basic_socket->next_text() == std::optional<std::string>(hello));
  CHECK(token_socket.next_text() == std::optional<std::string>(hello));
  basic_socket.reset();
  token_socket.send_text(R"({"type":"ping","id":1})");
  CHECK(token_socket.next_text() == std::optional<std::string>(R"({"id":1,"type":"pong"})"));
}

TEST_CASE("TURN credentials on connect and on both turn endpoints") {
  server_fixture server(auth_options());
  const auto token = new_token(server.port(), "alice");
  const int64_t before = kwm::protocol::unix_seconds_now();
  const auto reply = connect_with(server.port(), "Token " + token, "alice");
  const auto doc = parse_json(reply.body);
  REQUIRE(doc.HasMember("turn"));
  const std::string username = doc["turn"]["username"].GetString();
  const int64_t expiry = std::stoll(username.substr(0, username.find(':')));
  CHECK(expiry >= before + 3600);
  CHECK(expiry <= kwm::protocol::unix_seconds_now() + 3600);
  CHECK(username.substr(username.find(':')) == ":alice");
  const auto expected = kwm::protocol::shared_secret_credentials("supersecret", "alice", {}, expiry - 3600);
  CHECK(std::string(doc["turn"]["password"].GetString()) == expected.password);
  CHECK(doc["turn"]["ttl"].GetInt() == 3600);
  CHECK(std::string(doc["turn"]["uris"][0].GetString()) == "turn:127.0.0.1:3478?transport=udp");
  CHECK(std::string(doc["turn"]["uris"][1].GetString()) == "turns:turn.example:443?transport=tcp");
  // Keys in the spec's order.
  CHECK(reply.body.find(R"("self":)") < reply.body.find(R"("turn":)"));
  CHECK(reply.body.find(R"("turn":)") < reply.body.find(R"("server_status":)"));

  for (const char* path : {"/api/v1/rtm.turn", "/api/kwm/v2/rtm/turn"}) {
    CAPTURE(path);
    auto turn = connect_with(server.port(), "Token " + token, "alice", path);
    CHECK(turn.status == 200);
    CHECK(turn.body.rfind(R"({"ok":true,"turn":{"username":")", 0) == 0);
    turn = connect_with(server.port(), "Token nonsense", "alice", path);
    CHECK(turn.status == 403);
    CHECK(turn.body == "\n");
    CHECK(connect_with(server.port(), "Token " + token, "", path).status == 400);
    CHECK(connect_with(server.port(), "Token " + token, "bob", path).status == 403);
  }
}

TEST_CASE_FIXTURE(server_fixture, "anonymous mode: turn is 404 without a TURN backend") {
  CHECK(http_call(port(), "POST", "/api/v1/rtm.turn?user=a").status == 404);
}

TEST_CASE("anonymous turn needs a user") {
  auto options = test_options();
  options.rtm.turn.shared_secret = "s";
  options.rtm.turn.uris = {"turn:x"};
  server_fixture server(options);
  CHECK(http_call(server.port(), "POST", "/api/v1/rtm.turn").body == "missing user parameter\n");
  CHECK(http_call(server.port(), "POST", "/api/v1/rtm.turn?user=a").status == 200);
  CHECK(http_call(server.port(), "POST", "/api/v1/rtm.connect").status == 200);  // no backend: anonymous
}

TEST_CASE("auth configuration errors stop the server at startup") {
  const std::string binary = KWM_SERVER_BINARY;
  std::string key_template = (std::filesystem::temp_directory_path() / "kwm-short-key-XXXXXX").string();
  char* short_key = key_template.data();
  const int fd = mkstemp(short_key);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "too short", 9) == 9);
  close(fd);
  auto result = run_binary({binary, "serve", "--listen", "127.0.0.1:0", "--admin-tokens-key", short_key});
  CHECK(result.status == 1);
  CHECK(result.err.find("at least 32 bytes") != std::string::npos);
  result = run_binary({binary, "serve", "--listen", "127.0.0.1:0", "--admin-tokens-key", "/nonexistent/key"});
  CHECK(result.status == 1);
  result = run_binary({binary, "serve", "--listen", "127.0.0.1:0", "--enable-auth-basic"});
  CHECK(result.status == 1);
  CHECK(result.err.find("--auth-basic-values") != std::string::npos);
  result = run_binary({binary, "serve", "--listen", "127.0.0.1:0", "--turn-server-shared-secret", short_key});
  CHECK(result.status == 1);
  CHECK(result.err.find("at least one turn-uri is required but none given") != std::string::npos);
  unlink(short_key);
}

TEST_CASE("TURN credentials from an external service, and its failures") {
  std::atomic<int> mode{0};  // 0 = good answer, 1 = HTTP error, 2 = unusable answer
  stub_http_server service([&](const std::string&) -> std::pair<unsigned, std::string> {
    if (mode == 1) return {500, "{}"};
    if (mode == 2) return {200, R"({"username":"","password":"p","ttl":10,"uris":[]})"};
    return {200, R"({"username":"svc-user","password":"svc-pass","ttl":10,"uris":["turn:svc.example:3478"]})"};
  });
  auto options = test_options();
  options.rtm.turn.service_url = "http://127.0.0.1:" + std::to_string(service.port()) + "/turnserverauth/";
  options.rtm.turn.service_credentials = "kwm:service-secret";
  server_fixture server(options);

  auto reply = http_call(server.port(), "POST", "/api/kwm/v2/rtm/connect?user=alice");
  REQUIRE(reply.status == 200);
  const auto doc = parse_json(reply.body);
  CHECK(std::string(doc["turn"]["username"].GetString()) == "svc-user");
  CHECK(doc["turn"]["ttl"].GetInt() == 60);  // raised to the minimum
  const auto request = service.requests().back();
  CHECK(request.rfind("GET /turnserverauth/ ", 0) == 0);
  CHECK(request.find("X-Kopano-KWM-User: K9gGyX8OAK8aH8Myj6djqSaXI8jbj6xPk69x2xhtbpA=") != std::string::npos);
  CHECK(request.find("Authorization: Basic a3dtOnNlcnZpY2Utc2VjcmV0") != std::string::npos);
  CHECK(http_call(server.port(), "POST", "/api/v1/rtm.turn?user=alice").status == 200);

  for (int failing : {1, 2}) {
    mode = failing;
    reply = http_call(server.port(), "POST", "/api/kwm/v2/rtm/connect?user=alice");
    CHECK(reply.status == 503);
    CHECK(reply.body == "TURN config failed\n");
    reply = http_call(server.port(), "POST", "/api/kwm/v2/rtm/turn?user=alice");
    CHECK(reply.status == 500);
    CHECK(reply.body == "TURN config failed\n");
  }
}

TEST_CASE("revocations are bounded by --admin-max-revocations and expire with the tokens (N4)") {
  auto options = auth_options();
  options.admin_tokens->max_revocations = 3;
  options.admin_tokens->token_lifetime = 2;  // tokens of ours live 2 s: so do their revocations
  server_fixture server(options);
  const std::string path = "/api/kwm/v2/admin/auth/tokens";
  const auto revoke = [&](const std::string& sub) {
    return http_call(server.port(), "DELETE", path, json_header, R"({"type":"Token","sub":")" + sub + R"("})");
  };
  // Subjects of any length cost the same: they are kept as digests.
  for (const std::string& sub : {std::string("a"), std::string("b"), std::string(4000, 'c')})
    CHECK(revoke(sub).status == 404);
  const auto refused = revoke("d");
  CHECK(refused.status == 503);
  CHECK(refused.header("Content-Type") == std::optional<std::string>("text/plain; charset=utf-8"));
  CHECK(refused.body == "too many revocations\n");
  CHECK(revoke("a").status == 404);  // renewing a kept revocation needs no room
  // The revoked subject stays revoked while the store is full.
  const int64_t now = kwm::protocol::unix_seconds_now();
  CHECK(connect_with(server.port(), "Token " + kwm::protocol::sign_admin_token(server_key, {"b", now - 1, now + 1}), "b")
            .status == 403);
  // Once the tokens they cover have expired, revocations make room again.
  CHECK(eventually([&] { return revoke("d").status == 404; }, std::chrono::seconds(10)));
}

TEST_CASE("a token list larger than one page is streamed and is the same JSON array (N4)") {
  auto options = auth_options();
  options.admin_tokens->record_idle = std::chrono::minutes(5);
  server_fixture server(options);
  const std::string path = "/api/kwm/v2/admin/auth/tokens";
  std::vector<std::string> requests;
  for (int i = 0; i < 300; ++i)
    requests.push_back(build_http_request("POST", path, json_header,
                                          R"({"type":"Token","sub":"s)" + std::to_string(1000 + i) +
                                              R"(","claims":{"x":")" + std::string(1000, 'c') + R"("}})",
                                          true));
  for (const auto& reply : http_pipeline(server.port(), requests)) REQUIRE(reply.status == 200);
  const auto list = http_call(server.port(), "GET", path);
  CHECK(list.status == 200);
  CHECK(list.header("Transfer-Encoding") == std::optional<std::string>("chunked"));
  CHECK_FALSE(list.header("Content-Length").has_value());
  REQUIRE(list.body.size() > 300 * 1000);
  CHECK(list.body.back() == '\n');
  const auto parsed = parse_json(list.body);
  REQUIRE(parsed.IsArray());
  REQUIRE(parsed.Size() == 300);
  for (rapidjson::SizeType i = 0; i < parsed.Size(); ++i)
    CHECK(std::string(parsed[i]["sub"].GetString()) == "s" + std::to_string(1000 + i));
}
