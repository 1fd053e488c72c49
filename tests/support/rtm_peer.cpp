#include "support/rtm_peer.hpp"

#include <doctest/doctest.h>

namespace kwm::test {

rtm_peer::rtm_peer(std::string name, std::unique_ptr<ws_client> socket) : user(std::move(name)), ws(std::move(socket)) {
  REQUIRE(ws->is_open());
  const auto hello = parse_json(next());
  REQUIRE(hello.IsObject());
  REQUIRE(std::string(hello["type"].GetString()) == "hello");
}

std::string rtm_peer::next() {
  auto text = ws->next_text();
  REQUIRE_MESSAGE(text.has_value(), user << " expected a frame");
  return *text;
}

std::vector<std::string> rtm_peer::until_pong(std::chrono::milliseconds wait) {
  const auto id = ++ping_id_;
  const std::string pong = R"({"id":)" + std::to_string(id) + R"(,"type":"pong"})";
  send(R"({"type":"ping","id":)" + std::to_string(id) + "}");
  std::vector<std::string> before;
  while (true) {
    auto text = ws->next_text(wait);
    REQUIRE_MESSAGE(text.has_value(), user << " expected a pong");
    if (*text == pong) return before;
    before.push_back(std::move(*text));
  }
}

}  // namespace kwm::test
