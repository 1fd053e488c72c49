// End-to-end RTM WebSocket tests: hello, ping/pong, errors, fatal frames, keepalive,
// size limits, slow consumers and shutdown, against a real server on loopback.
#include <doctest/doctest.h>

#include "support/hostile_client.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

namespace {

constexpr const char* goodbye = R"({"type":"goodbye","server_status":null})";

}  // namespace

TEST_CASE_FIXTURE(server_fixture, "hello comes first, with self as in connect, on both versions") {
  for (bool v1 : {true, false}) {
    auto client = open("alice", v1);
    CHECK(client->next_text() ==
          std::optional<std::string>(R"({"type":"hello","self":{"id":"alice","name":""},"server_status":{}})"));
  }
  auto anonymous = std::make_unique<ws_client>(port(), [&] {
    auto reply = http_call(port(), "POST", "/api/v1/rtm.connect");
    return std::string(parse_json(reply.body)["url"].GetString());
  }());
  REQUIRE(anonymous->is_open());
  CHECK(anonymous->next_text() ==
        std::optional<std::string>(R"({"type":"hello","self":{"id":"","name":""},"server_status":{}})"));
  anonymous->send_text(R"({"type":"ping","id":1})");
  CHECK(anonymous->next_text() == std::optional<std::string>(R"({"id":1,"type":"pong"})"));
  anonymous->send_text(R"({"type":"webrtc","subtype":"webrtc_group","id":2,"target":"g","group":"g","state":"s"})");
  CHECK(anonymous->next_text() ==
        std::optional<std::string>(
            R"({"type":"error","reply_to":2,"error":{"code":"bad_message","msg":"connection has no user"}})"));
  anonymous->send_text(R"({"type":"chats","subtype":"chats_message","id":3})");
  CHECK(anonymous->next_text() ==
        std::optional<std::string>(
            R"({"type":"error","reply_to":3,"error":{"code":"bad_message","msg":"connection has no user"}})"));
}

TEST_CASE_FIXTURE(server_fixture, "ping is answered by pong echoing every key, sorted") {
  auto client = open_after_hello("alice");
  client->send_text(R"({"type":"ping","id":1,"ts":12345,"extra":{"x":1}})");
  CHECK(client->next_text() == std::optional<std::string>(R"({"extra":{"x":1},"id":1,"ts":12345,"type":"pong"})"));
  client->send_text(R"({"type":"ping"})");
  CHECK(client->next_text() == std::optional<std::string>(R"({"type":"pong"})"));
  client->send_text(R"({"ts":1795682651123,"type":"ping","n":{"b":1,"a":[{"y":1,"x":2}]}})");
  CHECK(client->next_text() ==
        std::optional<std::string>(R"({"n":{"a":[{"x":2,"y":1}],"b":1},"ts":1795682651123,"type":"pong"})"));
}

TEST_CASE_FIXTURE(server_fixture, "type errors answer bad_message and keep the connection open") {
  auto client = open_after_hello("alice");
  client->send_text(R"({"type":"webrtc","id":"1"})");
  CHECK(client->next_text() ==
        std::optional<std::string>(R"({"type":"error","error":{"code":"bad_message","msg":"invalid type for field id"}})"));
  client->send_text(R"({"type":"webrtc","id":7,"initiator":"yes"})");
  CHECK(client->next_text() ==
        std::optional<std::string>(
            R"({"type":"error","reply_to":7,"error":{"code":"bad_message","msg":"invalid type for field initiator"}})"));
  client->send_text(R"({"type":"webrtc","id":8,"state":5})");
  CHECK(client->next_text()->find("invalid type for field state") != std::string::npos);
  client->send_text(R"({"type":"ping","id":9})");
  CHECK(client->next_text() == std::optional<std::string>(R"({"id":9,"type":"pong"})"));
}

TEST_CASE_FIXTURE(server_fixture, "fatal frames get goodbye, then close 1001, and no error") {
  for (const char* text : {"{not json", "[]", "5", R"({"type":"foo"})", R"({"type":"pong"})",
                           R"({"type":5})", "{}"}) {
    CAPTURE(text);
    auto client = open_after_hello("alice");
    client->send_text(text);
    CHECK(client->next_text() == std::optional<std::string>(goodbye));
    CHECK(client->wait_close() == std::optional<uint16_t>(1001));
  }
}

TEST_CASE_FIXTURE(server_fixture, "binary frames are ignored") {
  auto client = open_after_hello("alice");
  client->send_frame(opcode::binary, "\x01\x02\x03");
  client->send_text(R"({"type":"ping","id":1})");
  CHECK(client->next_text() == std::optional<std::string>(R"({"id":1,"type":"pong"})"));
}

TEST_CASE_FIXTURE(server_fixture, "a message over 1 MiB gets goodbye and close 1009") {
  auto client = open_after_hello("alice");
  const std::string big = R"({"type":"ping","pad":")" + std::string(1024 * 1024, 'a') + R"("})";
  try {
    client->send_text(big);
  } catch (const std::exception&) {
    // The server may reset the connection while the frame is still being sent.
  }
  const auto texts = read_until_close(*client, 5s);
  if (client->close_code) {
    CHECK(*client->close_code == 1009);
    REQUIRE(texts.size() == 1);
    CHECK(texts[0] == goodbye);
  } else {
    CHECK(client->closed);  // reset before the close frame could be read (stack notes P10)
  }
  // A message of exactly the limit is fine.
  auto other = open_after_hello("bob");
  const std::string head = R"({"type":"ping","pad":")";
  const std::string tail = R"("})";
  other->send_text(head + std::string(1024 * 1024 - head.size() - tail.size(), 'b') + tail);
  const auto pong = other->next_text();
  REQUIRE(pong.has_value());
  CHECK(pong->size() == 1024 * 1024);
}

TEST_CASE_FIXTURE(server_fixture, "a client-initiated close is answered with a close frame") {
  auto client = open_after_hello("alice");
  client->send_close(1001);
  CHECK(client->wait_close() == std::optional<uint16_t>(1001));
}

TEST_CASE("keepalive: pings carry a little-endian counter, no pong means goodbye and 1001") {
  auto options = test_options();
  options.server.websocket.ping_period = std::chrono::milliseconds(150);
  options.server.websocket.pong_wait = std::chrono::milliseconds(400);
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);

  auto answering = server.open_after_hello("alice");
  auto silent = server.open_after_hello("bob");
  silent->auto_pong = false;

  // Both clients keep sending text; only the answering one replies to pings. The silent
  // one is dropped after the pong wait, the other outlives several pong waits.
  std::vector<std::string> silent_texts;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((!silent->closed || answering->pings.size() < 6) &&
         std::chrono::steady_clock::now() < deadline) {
    answering->send_text(R"({"type":"ping","id":1})");
    REQUIRE(answering->next_text(std::chrono::seconds(2)).has_value());
    if (!silent->closed) {
      try {
        silent->send_text(R"({"type":"ping"})");
      } catch (const std::exception&) {
      }
      if (auto text = silent->next_text(std::chrono::milliseconds(30))) silent_texts.push_back(*text);
    }
  }
  CHECK(silent->close_code == std::optional<uint16_t>(1001));
  REQUIRE_FALSE(silent_texts.empty());
  CHECK(silent_texts.back() == goodbye);
  REQUIRE(silent->pings.size() >= 1);
  CHECK(silent->pings[0] == std::string("\x01\0\0\0\0\0\0\0", 8));
  CHECK_FALSE(answering->closed);
  REQUIRE(answering->pings.size() >= 2);
  CHECK(answering->pings[1] == std::string("\x02\0\0\0\0\0\0\0", 8));
}

TEST_CASE("a slow consumer is closed with 1008 once its queue is full") {
  auto options = test_options();
  options.server.websocket.send_queue_bytes = 256 * 1024;
  options.server.socket_send_buffer_bytes = 16 * 1024;  // kernel buffers must not absorb the flood
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);
  auto bystander = server.open_after_hello("bob");
  auto slow = std::make_unique<ws_client>(server.port(), server.connect("alice"),
                                          std::vector<std::pair<std::string, std::string>>{}, 8192);
  REQUIRE(slow->next_text().has_value());  // hello
  // Each ping is answered with a 64 KiB pong that the client does not read.
  const std::string ping = R"({"type":"ping","pad":")" + std::string(64 * 1024, 'x') + R"("})";
  try {
    for (int i = 0; i < 400; ++i) slow->send_text(ping);
  } catch (const std::exception&) {
    // The server stops reading once it has closed the connection.
  }
  const auto texts = read_until_close(*slow, std::chrono::seconds(15));
  CHECK(slow->close_code == std::optional<uint16_t>(1008));
  CHECK(slow->close_reason == "slow consumer");
  REQUIRE_FALSE(texts.empty());
  CHECK((texts.back() == goodbye));  // (not the 64 KiB pong text in a failure report)
  CHECK(texts.size() < 400);  // the rest was discarded, not queued without bound
  // Everyone else is unaffected.
  bystander->send_text(R"({"type":"ping","id":5})");
  CHECK(bystander->next_text() == std::optional<std::string>(R"({"id":5,"type":"pong"})"));
}

TEST_CASE("shutdown sends goodbye and close 1001 to every client") {
  server_fixture server;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (const char* user : {"a", "b", "c", ""}) clients.push_back(server.open_after_hello(user));
  server.runtime->request_shutdown();
  for (auto& client : clients) {
    CHECK(client->next_text() == std::optional<std::string>(goodbye));
    CHECK(client->wait_close() == std::optional<uint16_t>(1001));
  }
  server.runtime->wait();
  CHECK(server.runtime->open_connections() == 0);
}

TEST_CASE("while the server drains, /health-check and every new request answer 503") {
  auto options = test_options();
  options.drain_timeout = std::chrono::seconds(60);  // the held request ends the drain, not this
  server_fixture server(options);
  const auto port = server.runtime->port();
  auto client = server.open_after_hello("alice");
  held_request in_progress(port, "/health-check");
  REQUIRE(http_call(port, "GET", "/health-check").status == 200);
  server.runtime->request_shutdown();
  // The drain began before the goodbye was written.
  CHECK(client->next_text() == std::optional<std::string>(goodbye));
  CHECK(client->wait_close() == std::optional<uint16_t>(1001));
  for (const char* method : {"GET", "POST"}) {
    const auto health = http_call(port, method, "/health-check");
    CHECK(health.status == 503);
    CHECK(health.header("Retry-After") == std::optional<std::string>("1"));
    CHECK(health.header("Connection") == std::optional<std::string>("close"));
  }
  CHECK(connect_with(port, "", "bob").status == 503);
  // Its head arrived before the drain: it is answered as usual, then the drain ends.
  CHECK(in_progress.finish().status == 200);
  server.runtime->wait();
  CHECK(server.runtime->open_connections() == 0);
  CHECK_THROWS(tcp_socket(port));  // and the listener is closed
}

TEST_CASE("rate limiting end to end: errors past the burst, then goodbye and close 1008") {
  auto options = test_options();
  options.rtm.connection.rate_limit.tokens_per_second = 1;
  options.rtm.connection.rate_limit.burst = 5;
  options.rtm.connection.rate_limit.close_after_rejections = 4;
  server_fixture server(options);
  auto bystander = server.open_after_hello("bystander");
  auto flooder = server.open_after_hello("flooder");
  std::string burst;
  for (int id = 1; id <= 9; ++id) burst += encode_frame(opcode::text, R"({"type":"ping","id":)" + std::to_string(id) + "}");
  flooder->send_raw(burst);
  const auto texts = read_until_close(*flooder, 5s);
  REQUIRE(texts.size() == 9);  // 5 pongs, 3 errors, goodbye
  for (int id = 1; id <= 5; ++id)
    CHECK(texts[id - 1] == R"({"id":)" + std::to_string(id) + R"(,"type":"pong"})");
  for (int id = 6; id <= 8; ++id)  // refused frames are not parsed (D20): no reply_to
    CHECK(texts[id - 1] == R"({"type":"error","error":{"code":"bad_message","msg":"rate limit exceeded"}})");
  CHECK(texts[8] == goodbye);
  CHECK(flooder->close_code == std::optional<uint16_t>(1008));
  CHECK(flooder->close_reason == "rate limit exceeded");
  bystander->send_text(R"({"type":"ping","id":1})");
  CHECK(bystander->next_text() == std::optional<std::string>(R"({"id":1,"type":"pong"})"));
}
