// End-to-end HTTP tests against a real server on an ephemeral loopback port.
#include <doctest/doctest.h>

#include <thread>


#include "protocol/connect_key.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

namespace {

const std::vector<std::pair<std::string, std::string>> form_header = {
    {"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}};

void check_text_error(const http_reply& reply, unsigned status, const std::string& body) {
  CHECK(reply.status == status);
  CHECK(reply.header("Content-Type") == std::optional<std::string>("text/plain; charset=utf-8"));
  CHECK(reply.header("X-Content-Type-Options") == std::optional<std::string>("nosniff"));
  CHECK(reply.body == body);
}

std::string key_of(const std::string& url) { return url.substr(url.rfind('/') + 1); }

}  // namespace

TEST_CASE_FIXTURE(server_fixture, "health check answers any method with an empty 200") {
  for (const char* method : {"GET", "POST", "PUT"}) {
    const auto reply = http_call(port(), method, "/health-check");
    CHECK(reply.status == 200);
    CHECK(reply.body.empty());
    CHECK_FALSE(reply.header("Content-Type").has_value());
  }
}

TEST_CASE_FIXTURE(server_fixture, "unknown paths answer 404 page not found, without redirects") {
  for (const char* path : {"/nope", "/health-check/", "/api/v1/rtm.connect/", "/API/v1/rtm.connect",
                           "/api/v1/websocket/", "/api/v1/websocket/a/b", "/api/v1/rtm.turn"}) {
    CAPTURE(path);
    check_text_error(http_call(port(), "GET", path), 404, "404 page not found\n");
  }
}

TEST_CASE_FIXTURE(server_fixture, "anonymous connect answers exactly as the seed example") {
  const auto reply = http_call(port(), "POST", "/api/v1/rtm.connect");
  CHECK(reply.status == 200);
  CHECK(reply.header("Content-Type") == std::optional<std::string>("application/json"));
  REQUIRE(reply.body.size() > 60);
  const std::string prefix = R"({"ok":true,"url":"/api/v1/websocket/)";
  CHECK(reply.body.substr(0, prefix.size()) == prefix);
  const auto key = reply.body.substr(prefix.size(), 32);
  CHECK(kwm::protocol::is_well_formed_connect_key(key));
  CHECK(reply.body.substr(prefix.size() + 32) ==
        R"(","self":{"id":"","name":""},"server_status":{}})"
        "\n");
}

TEST_CASE_FIXTURE(server_fixture, "connect on v2 with a user, body values win over the query") {
  auto reply = http_call(port(), "POST", "/api/kwm/v2/rtm/connect?user=query", form_header, "user=alice");
  REQUIRE(reply.status == 200);
  auto doc = parse_json(reply.body);
  REQUIRE(doc.IsObject());
  const std::string url = doc["url"].GetString();
  CHECK(url.rfind("/api/kwm/v2/rtm/websocket/", 0) == 0);
  CHECK(url.size() == std::string("/api/kwm/v2/rtm/websocket/").size() + 32);
  CHECK(std::string(doc["self"]["id"].GetString()) == "alice");
  CHECK_FALSE(doc["self"].HasMember("auth"));

  reply = http_call(port(), "GET", "/api/kwm/v2/rtm/connect?user=bob");
  REQUIRE(reply.status == 200);
  CHECK(std::string(parse_json(reply.body)["self"]["id"].GetString()) == "bob");

  // A body of another content type is not read as a form.
  reply = http_call(port(), "POST", "/api/kwm/v2/rtm/connect?user=q", {{"Content-Type", "text/plain"}},
                    "user=body");
  CHECK(std::string(parse_json(reply.body)["self"]["id"].GetString()) == "q");

  // An Authorization header is ignored in anonymous mode.
  reply = http_call(port(), "POST", "/api/v1/rtm.connect?user=carol", {{"Authorization", "Token x"}});
  CHECK(reply.status == 200);
}

TEST_CASE_FIXTURE(server_fixture, "CORS preflight and actual requests on connect") {
  auto reply = http_call(port(), "OPTIONS", "/api/kwm/v2/rtm/connect",
                         {{"Origin", "https://app.example"},
                          {"Access-Control-Request-Method", "POST"},
                          {"Access-Control-Request-Headers", "authorization, content-type"}});
  CHECK(reply.status == 200);
  CHECK(reply.body.empty());
  CHECK(reply.header("Access-Control-Allow-Origin") == std::optional<std::string>("*"));
  CHECK(reply.header("Access-Control-Allow-Methods") == std::optional<std::string>("POST"));
  CHECK(reply.header("Access-Control-Allow-Headers") ==
        std::optional<std::string>("Authorization, Content-Type"));
  CHECK(reply.header("Access-Control-Allow-Credentials") == std::optional<std::string>("true"));
  CHECK(reply.header_values("Vary") ==
        std::vector<std::string>{"Origin", "Access-Control-Request-Method",
                                 "Access-Control-Request-Headers"});

  reply = http_call(port(), "POST", "/api/v1/rtm.connect", {{"Origin", "https://app.example"}});
  CHECK(reply.status == 200);
  CHECK(reply.header("Access-Control-Allow-Origin") == std::optional<std::string>("*"));
  CHECK(reply.header("Access-Control-Allow-Credentials") == std::optional<std::string>("true"));
  CHECK(reply.header_values("Vary") == std::vector<std::string>{"Origin"});

  // A header outside the allowed list: only the Vary headers.
  reply = http_call(port(), "OPTIONS", "/api/v1/rtm.connect",
                    {{"Origin", "https://app.example"},
                     {"Access-Control-Request-Method", "POST"},
                     {"Access-Control-Request-Headers", "x-custom"}});
  CHECK(reply.status == 200);
  CHECK_FALSE(reply.header("Access-Control-Allow-Origin").has_value());
}

TEST_CASE_FIXTURE(server_fixture, "connect keys: single use, 405 does not consume, both versions") {
  const auto url = connect("alice");
  const auto key = key_of(url);
  // Wrong method: 405 with the error shape, and the key survives.
  check_text_error(http_call(port(), "POST", url), 405, "\n");
  // A v2 key works at the v1 path.
  ws_client first(port(), "/api/v1/websocket/" + key);
  CHECK(first.is_open());
  // Reuse: 404.
  ws_client again(port(), url);
  CHECK_FALSE(again.is_open());
  check_text_error(again.handshake, 404, "404 page not found\n");
  // A malformed key never reaches the issuer.
  ws_client malformed(port(), "/api/kwm/v2/rtm/websocket/short");
  CHECK(malformed.handshake.status == 404);
}

TEST_CASE_FIXTURE(server_fixture, "a plain GET consumes the key and gets 400 Bad Request") {
  const auto url = connect("alice", true);
  const auto reply = http_call(port(), "GET", url);
  CHECK(reply.status == 400);
  CHECK(reply.body == "Bad Request\n");
  CHECK(reply.header("Sec-Websocket-Version") == std::optional<std::string>("13"));
  ws_client after(port(), url);
  CHECK(after.handshake.status == 404);
}

TEST_CASE_FIXTURE(server_fixture, "keep-alive connections serve several requests") {
  tcp_socket socket(port());
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    socket.send_all(build_http_request("GET", "/health-check", {}, {}, true));
    auto reply = read_http_reply(socket, buffer);
    REQUIRE(reply.has_value());
    CHECK(reply->status == 200);
  }
  // Pipelined requests are answered in order.
  socket.send_all(build_http_request("GET", "/nope", {}, {}, true) +
                  build_http_request("GET", "/health-check", {}, {}, true));
  auto first = read_http_reply(socket, buffer);
  auto second = read_http_reply(socket, buffer);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->status == 404);
  CHECK(second->status == 200);
}

TEST_CASE_FIXTURE(server_fixture, "oversized heads get 431 and oversized bodies 413") {
  auto reply = http_call(port(), "GET", "/health-check", {{"X-Big", std::string(17 * 1024, 'a')}});
  check_text_error(reply, 431, "Request Header Fields Too Large\n");
  reply = http_call(port(), "POST", "/api/v1/rtm.connect", form_header, std::string(65 * 1024, 'a'));
  check_text_error(reply, 413, "request body too large\n");
  reply = http_call(port(), "POST", "/api/v1/rtm.connect", form_header, "user=x&" + std::string(60 * 1024, 'a'));
  CHECK(reply.status == 200);
}

TEST_CASE("slow request heads and idle keep-alive connections are closed") {
  auto options = test_options();
  options.server.http.read_header_timeout = std::chrono::milliseconds(300);
  options.server.http.idle_timeout = std::chrono::milliseconds(600);
  server_fixture server(options);

  tcp_socket slow(server.port());
  slow.send_all("GET /health-check HTTP/1.1\r\n");  // and never the rest
  const auto started = std::chrono::steady_clock::now();
  CHECK(slow.wait_for_close(std::chrono::seconds(5)));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));

  // The same for a WebSocket handshake that never completes (the key stays unredeemed).
  tcp_socket slow_upgrade(server.port());
  slow_upgrade.send_all("GET " + server.connect("alice") +
                        " HTTP/1.1\r\nHost: kwm\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
  CHECK(slow_upgrade.wait_for_close(std::chrono::seconds(5)));

  tcp_socket idle(server.port());
  std::string buffer;
  idle.send_all(build_http_request("GET", "/health-check", {}, {}, true));
  REQUIRE(read_http_reply(idle, buffer).has_value());
  CHECK(idle.wait_for_close(std::chrono::seconds(5)));
}

TEST_CASE("admin and MCU routes answer untrusted peers 403 before anything else") {
  auto options = test_options();
  options.server.trusted_networks = kwm::net::address_filter({*kwm::net::network::parse("10.0.0.0/8")});
  server_fixture server(options);
  for (const char* path : {"/api/v1/admin/auth/tokens", "/api/kwm/v2/admin/auth/tokens",
                           "/api/kwm/v2/mcu/websocket", "/api/v1/mcu/websocket/abc"}) {
    CAPTURE(path);
    check_text_error(http_call(server.port(), "DELETE", path), 403, "forbidden\n");
  }
}

TEST_CASE_FIXTURE(server_fixture, "disabled admin and MCU routes are 404 for trusted peers") {
  for (const char* path : {"/api/v1/admin/auth/tokens", "/api/kwm/v2/mcu/websocket"})
    check_text_error(http_call(port(), "GET", path), 404, "404 page not found\n");
}

TEST_CASE("the per-user connection cap applies at connect and at WebSocket open") {
  auto options = test_options();
  options.rtm.max_connections_per_user = 2;
  server_fixture server(options);
  const auto early_key = server.connect("dora");  // issued before the cap is reached
  auto one = server.open_after_hello("dora");
  auto two = server.open_after_hello("dora");
  check_text_error(http_call(server.port(), "POST", "/api/v1/rtm.connect?user=dora"), 429,
                   "too many connections\n");
  ws_client late(server.port(), early_key);
  check_text_error(late.handshake, 429, "too many connections\n");
  // Other users are unaffected, and a closed socket frees its place.
  CHECK(http_call(server.port(), "POST", "/api/v1/rtm.connect?user=emil").status == 200);
  one->send_close(1000);
  one->wait_close();
  // The directory learns of the close asynchronously, through its monitor.
  CHECK(eventually([&] {
    return http_call(server.port(), "POST", "/api/v1/rtm.connect?user=dora").status == 200;
  }));
}

TEST_CASE("a key redeemed after its lifetime answers 404") {
  auto options = test_options();
  options.connect_keys.key_lifetime = std::chrono::milliseconds(200);
  server_fixture server(options);
  const auto fresh = server.connect("alice");
  CHECK(ws_client(server.port(), fresh).is_open());
  const auto stale = server.connect("alice");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the subject of the test is time passing
  check_text_error(ws_client(server.port(), stale).handshake, 404, "404 page not found\n");
}
