// WebSocket conformance with a raw-frame client (RFC 6455): protocol violations are closed
// with the right code, fragmentation and control frames work, abrupt resets are harmless,
// and a bystander keeps being served throughout.
#include <doctest/doctest.h>

#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

namespace {

std::optional<uint16_t> close_code_after(server_fixture& server, const std::string& raw_bytes) {
  auto client = server.open_after_hello("violator");
  try {
    client->send_raw(raw_bytes);
  } catch (const std::exception&) {
  }
  return client->wait_close();
}

}  // namespace

TEST_CASE_FIXTURE(server_fixture, "protocol violations close with 1002 or 1007, and the server stays up") {
  auto bystander = open_after_hello("bystander");
  CHECK(close_code_after(*this, encode_frame(opcode::text, R"({"type":"ping"})", true, false)) ==
        std::optional<uint16_t>(1002));  // unmasked client frame
  CHECK(close_code_after(*this, encode_frame(opcode::text, R"({"type":"ping"})", true, true, 0x40)) ==
        std::optional<uint16_t>(1002));  // RSV1 without an extension
  CHECK(close_code_after(*this, encode_frame(static_cast<opcode>(3), "x")) == std::optional<uint16_t>(1002));
  CHECK(close_code_after(*this, encode_frame(opcode::ping, std::string(126, 'p'))) ==
        std::optional<uint16_t>(1002));  // control frame over 125 bytes
  CHECK(close_code_after(*this, encode_frame(opcode::ping, "x", false)) ==
        std::optional<uint16_t>(1002));  // fragmented control frame
  CHECK(close_code_after(*this, encode_frame(opcode::continuation, "x")) ==
        std::optional<uint16_t>(1002));  // continuation without a start
  CHECK(close_code_after(*this, encode_frame(opcode::text, "{\"type\":\"ping\",\"x\":\"\xC3\x28\"}")) ==
        std::optional<uint16_t>(1007));  // invalid UTF-8
  bystander->send_text(R"({"type":"ping","id":1})");
  CHECK(bystander->next_text() == std::optional<std::string>(R"({"id":1,"type":"pong"})"));
}

TEST_CASE_FIXTURE(server_fixture, "fragmented messages with control frames in between") {
  auto client = open_after_hello("alice");
  client->auto_pong = false;
  client->send_raw(encode_frame(opcode::text, R"({"type":"pi)", false));
  client->send_raw(encode_frame(opcode::ping, "abc"));
  client->send_raw(encode_frame(opcode::continuation, R"(ng","id":)", false));
  client->send_raw(encode_frame(opcode::continuation, "7}", true));
  // The control frame is answered at once, with its payload; then the reassembled message.
  auto frame = client->next_frame();
  REQUIRE(frame);
  CHECK(frame->op == opcode::pong);
  CHECK(frame->payload == "abc");
  CHECK(client->next_text() == std::optional<std::string>(R"({"id":7,"type":"pong"})"));
}

TEST_CASE_FIXTURE(server_fixture, "close handshakes with and without a status, and an abrupt reset") {
  auto bystander = open_after_hello("bystander");
  {
    auto client = open_after_hello("alice");
    client->send_raw(encode_frame(opcode::close, ""));  // no status code
    auto frame = client->next_frame();
    REQUIRE(frame);
    CHECK(frame->op == opcode::close);
  }
  {
    auto client = open_after_hello("bob");
    client->send_close(1000);
    CHECK(client->wait_close() == std::optional<uint16_t>(1000));
  }
  {
    auto client = open_after_hello("carol");
    const auto frame = encode_frame(opcode::text, R"({"type":"ping","pad":")" + std::string(5000, 'x') + "\"}");
    client->send_raw(frame.substr(0, frame.size() / 2));  // half a frame, then RST
    client->socket.reset();
  }
  bystander->send_text(R"({"type":"ping","id":2})");
  CHECK(bystander->next_text() == std::optional<std::string>(R"({"id":2,"type":"pong"})"));
  CHECK(eventually([&] { return runtime->open_connections() == 1; }));  // only the bystander is left
}
