#include "support/server_fixture.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

#include "support/cluster_harness.hpp"
#include "support/redis_server.hpp"
#include "support/tls_client.hpp"

namespace kwm::test {
namespace {

// One redis-server for the whole test run, started at the first cluster fixture.
redis_server& shared_redis() {
  static redis_server server;
  return server;
}

// Each fixture its own cluster in the shared Redis (D23: clusters can share one by prefix).
std::string next_key_prefix() {
  static std::atomic<unsigned> fixtures{0};
  return "kwmtest" + std::to_string(++fixtures) + ":";
}

}  // namespace

std::size_t cluster_nodes_requested() {
  const char* value = std::getenv("KWM_TEST_CLUSTER_NODES");
  if (value == nullptr || *value == '\0') return 0;
  const auto count = std::strtoul(value, nullptr, 10);
  return count >= 2 ? count : 0;
}

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

server_fixture::server_fixture(app::runtime_options options, cluster_setup setup)
    : tls_(options.server.tls != nullptr) {
  const auto nodes = setup.nodes != 0  ? setup.nodes
                     : options.cluster ? 0
                                       : cluster_nodes_requested();
  if (nodes != 0) {
    auto cluster = fast_cluster_options(shared_redis().url(), "n0");
    if (setup.adjust) setup.adjust(cluster.timing);
    cluster.key_prefix = next_key_prefix();
    // What a test shortens for one process holds for the cluster's shared records too.
    if (options.admin_tokens) cluster.timing.admin_record_lifetime = options.admin_tokens->record_idle;
    options.cluster = cluster;
  }
  for (std::size_t i = 1; i < nodes; ++i) {
    auto node_options = options;
    node_options.cluster->node_name = "n" + std::to_string(i);
    other_nodes.push_back(std::make_unique<app::server_runtime>(std::move(node_options)));
  }
  runtime = std::make_unique<app::server_runtime>(std::move(options));
  runtime->start();
  ports_.push_back(runtime->port());
  for (auto& node : other_nodes) {
    node->start();
    ports_.push_back(node->port());
  }
}

server_fixture::~server_fixture() {
  runtime.reset();
  other_nodes.clear();
}

uint16_t server_fixture::port() const {
  return ports_[next_node_.fetch_add(1, std::memory_order_relaxed) % ports_.size()];
}

tcp_socket server_fixture::dial() {
  tcp_socket socket(port());
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
