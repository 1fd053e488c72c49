#include "support/server_fixture.hpp"

#include <doctest/doctest.h>

#include "support/tls_client.hpp"

namespace kwm::test {

app::runtime_options test_options() {
  app::runtime_options options;
  options.server.host = "127.0.0.1";
  options.server.port = 0;
  options.io_threads = 2;
  options.actor_threads = 2;
  options.drain_timeout = std::chrono::seconds(5);
  return options;
}

app::runtime_options token_auth_options(const std::string& key) {
  auto options = test_options();
  options.admin_tokens.emplace();
  options.admin_tokens->key = key;
  return options;
}

server_fixture::server_fixture(app::runtime_options options)
    : tls_(options.server.tls != nullptr) {
  runtime = std::make_unique<app::server_runtime>(std::move(options));
  runtime->start();
  port_ = runtime->port();
}

server_fixture::~server_fixture() { runtime.reset(); }

tcp_socket server_fixture::dial() {
  tcp_socket socket(port_);
  if (tls_) start_tls(socket);
  return socket;
}

std::string server_fixture::connect(const std::string& user, bool v1) {
  auto socket = dial();
  const auto reply =
      http_call_on(socket, "POST", v1 ? "/api/v1/rtm.connect" : "/api/kwm/v2/rtm/connect",
                   {{"Content-Type", "application/x-www-form-urlencoded"}}, "user=" + user);
  REQUIRE(reply.status == 200);
  const auto doc = parse_json(reply.body);
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember("url"));
  return doc["url"].GetString();
}

std::unique_ptr<ws_client> server_fixture::open(const std::string& user, bool v1) {
  const auto path = connect(user, v1);
  auto client = std::make_unique<ws_client>(dial(), path);
  REQUIRE(client->is_open());
  return client;
}

std::unique_ptr<ws_client> server_fixture::open_after_hello(const std::string& user, bool v1) {
  auto client = open(user, v1);
  const auto hello = client->next_text();
  REQUIRE(hello.has_value());
  const auto doc = parse_json(*hello);
  REQUIRE(doc.IsObject());
  REQUIRE(std::string(doc["type"].GetString()) == "hello");
  return client;
}

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError()) doc.SetNull();
  return doc;
}

std::string new_token(uint16_t port, const std::string& sub, const std::string& path) {
  const auto reply =
      http_call(port, "POST", path, {{"Content-Type", "application/json"}}, R"({"type":"Token","sub":")" + sub + R"("})");
  REQUIRE(reply.status == 200);
  return parse_json(reply.body)["value"].GetString();
}

http_reply connect_with(uint16_t port, const std::string& authorization, const std::string& user,
                        const std::string& path) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
  return http_call(port, "POST", path, headers, user.empty() ? "" : "user=" + user);
}

std::string url_of(const http_reply& reply) { return parse_json(reply.body)["url"].GetString(); }

}  // namespace kwm::test
