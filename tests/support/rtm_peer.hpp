#pragma once
// An RTM client in tests: sends JSON text and reads frames, with a ping "barrier" that
// shows what arrived before it without waiting on a timer.
#include <memory>
#include <string>
#include <vector>

#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

namespace kwm::test {

class rtm_peer {
 public:
  rtm_peer(server_fixture& server, const std::string& user, bool v1 = false)
      : user(user), ws(server.open_after_hello(user, v1)) {}
  // Takes over a socket opened some other way (e.g. with a Token); checks the hello.
  rtm_peer(std::string user, std::unique_ptr<ws_client> socket);

  void send(const std::string& json) { ws->send_text(json); }
  // The next text frame; fails the test when none arrives within 5 s.
  std::string next();
  rapidjson::Document next_json() { return parse_json(next()); }
  // Sends a ping and returns every text frame that arrived before its pong. Frames this
  // connection caused earlier are always among them: the server handles a connection's
  // frames strictly in order.
  // Waits at most `wait` for each frame (the pong may queue behind a request that waits
  // for another node).
  std::vector<std::string> until_pong(std::chrono::milliseconds wait = std::chrono::seconds(5));

  std::string user;
  std::unique_ptr<ws_client> ws;

 private:
  uint64_t ping_id_ = 1'000'000;
};

}  // namespace kwm::test
