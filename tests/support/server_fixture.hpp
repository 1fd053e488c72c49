#pragma once
// A real server (actor system, io threads, listener) in the test process, on an
// ephemeral loopback port, plus helpers that speak the kwm HTTP API.
//
// Cluster mode (KWM_TEST_CLUSTER_NODES=N, N >= 2): every fixture is N cluster nodes in this
// process on one redis-server the test run starts (each fixture with its own key prefix),
// and port() hands out the nodes round-robin, as a TCP load balancer spreads connections:
// a connect call reaches one node and the WebSocket it names the next (docs/testing.md).
#include <rapidjson/document.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/runtime.hpp"
#include "support/eventually.hpp"
#include "support/raw_client.hpp"

namespace kwm::test {

app::runtime_options test_options();
// The node count KWM_TEST_CLUSTER_NODES asks for; 0 when unset (one process as usual).
std::size_t cluster_nodes_requested();
// test_options() with Token auth: admin tokens signed with `key`.
app::runtime_options token_auth_options(const std::string& key);

// A fixture of `nodes` cluster nodes whatever KWM_TEST_CLUSTER_NODES says, with the test's
// cluster timing changed by `adjust` (a shortened expiry, say).
struct cluster_setup {
  std::size_t nodes = 0;
  std::function<void(cluster::cluster_timing&)> adjust;
};

struct server_fixture {
  explicit server_fixture(app::runtime_options options = test_options(), cluster_setup setup = {});
  ~server_fixture();

  // Cluster mode: the next node's port on every call (round-robin).
  uint16_t port() const;
  // With options.server.tls set, every helper here speaks HTTPS and WSS.
  bool tls() const { return tls_; }
  // A connection to the server, TLS started when tls().
  tcp_socket dial();

  // POSTs a connect call and returns the WebSocket path from the answer.
  std::string connect(const std::string& user, bool v1 = false);
  // Connect + WebSocket upgrade; the hello frame is left unread.
  std::unique_ptr<ws_client> open(const std::string& user, bool v1 = false);
  // As open(), and checks that the first frame is hello.
  std::unique_ptr<ws_client> open_after_hello(const std::string& user, bool v1 = false);

  // The server; in cluster mode the first node, and other_nodes the rest.
  std::unique_ptr<app::server_runtime> runtime;
  std::vector<std::unique_ptr<app::server_runtime>> other_nodes;

 private:
  std::vector<uint16_t> ports_;
  mutable std::atomic<std::size_t> next_node_{0};
  bool tls_ = false;
};

rapidjson::Document parse_json(const std::string& text);

// POSTs to the admin API for a Token of `sub` and returns the JWT.
std::string new_token(uint16_t port, const std::string& sub, const std::string& path = "/api/kwm/v2/admin/auth/tokens");
// A connect call with an optional Authorization header ("" = none) and user ("" = none).
http_reply connect_with(uint16_t port, const std::string& authorization, const std::string& user,
                        const std::string& path = "/api/kwm/v2/rtm/connect");
// The WebSocket path from a successful connect answer.
std::string url_of(const http_reply& reply);

}  // namespace kwm::test
