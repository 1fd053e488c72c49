#pragma once
// A real server (actor system, io threads, listener) in the test process, on an
// ephemeral loopback port, plus helpers that speak the kwm HTTP API.
#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <thread>

#include "app/runtime.hpp"
#include "support/eventually.hpp"
#include "support/raw_client.hpp"

namespace kwm::test {

app::runtime_options test_options();
// test_options() with Token auth: admin tokens signed with `key`.
app::runtime_options token_auth_options(const std::string& key);

struct server_fixture {
  explicit server_fixture(app::runtime_options options = test_options());
  ~server_fixture();

  uint16_t port() const { return port_; }
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

  std::unique_ptr<app::server_runtime> runtime;

 private:
  uint16_t port_ = 0;
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
