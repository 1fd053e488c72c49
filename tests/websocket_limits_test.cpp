// The WebSocket layer's own limits and edge cases (D18, D20, RFC 6455), end to end with a
// bystander that must keep being served: frames that come with the upgrade request, the
// exact message limit, forbidden close codes, the message deadline, the budget for
// unfinished messages and input flow control.
#include <doctest/doctest.h>

#include <thread>

#include "support/hostile_client.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;

namespace {

constexpr const char* goodbye = R"({"type":"goodbye","server_status":null})";

void check_bystander(ws_client& bystander, int id) {
  bystander.send_text(R"({"type":"ping","id":)" + std::to_string(id) + "}");
  CHECK(bystander.next_text() == std::optional<std::string>(R"({"id":)" + std::to_string(id) + R"(,"type":"pong"})"));
}

// The payload of a client close frame with `code`.
std::string close_payload(uint16_t code) { return {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)}; }

}  // namespace

TEST_CASE_FIXTURE(server_fixture, "an upgrade with a repeated key or version header gets 400") {
  // RFC 6455 §11.3.1 and §11.3.5: neither may appear more than once.
  const std::vector<std::pair<std::string, std::string>> base = {{"Upgrade", "websocket"},
                                                                 {"Connection", "Upgrade"}};
  const std::pair<std::string, std::string> key = {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="};
  const std::pair<std::string, std::string> version = {"Sec-WebSocket-Version", "13"};
  for (const auto& extra : {key, version}) {
    auto headers = base;
    headers.insert(headers.end(), {key, version, extra});
    tcp_socket socket(port());
    socket.send_all(build_http_request("GET", connect("alice"), headers, {}, true));
    std::string buffer;
    const auto reply = read_http_reply(socket, buffer);
    REQUIRE(reply);
    CHECK_MESSAGE(reply->status == 400, extra.first);
  }
}

TEST_CASE_FIXTURE(server_fixture, "frames sent in the same packet as the upgrade request are processed") {
  const auto path = connect("alice");
  tcp_socket socket(port());
  const std::string request = build_http_request(
      "GET", path,
      {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
       {"Sec-WebSocket-Version", "13"}},
      {}, true);
  socket.send_all(request + encode_frame(opcode::text, R"({"type":"ping","id":1})") +
                  encode_frame(opcode::text, R"({"type":"ping","id":2})"));
  std::string buffer;
  const auto reply = read_http_reply(socket, buffer);
  REQUIRE(reply);
  CHECK(reply->status == 101);
  CHECK(reply->header("Sec-WebSocket-Accept") == std::optional<std::string>("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
  while (buffer.find(R"({"id":2,"type":"pong"})") == std::string::npos)
    REQUIRE(socket.receive_some(buffer));
  const auto hello = buffer.find(R"("type":"hello")");
  const auto first = buffer.find(R"({"id":1,"type":"pong"})");
  REQUIRE(hello != std::string::npos);
  CHECK(hello < first);
}

TEST_CASE("the message limit is exact and decided by the frame header") {
  auto options = test_options();
  options.server.websocket.max_message_bytes = 4096;
  server_fixture server(options);
  auto bystander = server.open_after_hello("bystander");
  {
    auto client = server.open_after_hello("alice");
    const std::string head = R"({"type":"ping","pad":")";
    const std::string tail = R"("})";
    client->send_text(head + std::string(4096 - head.size() - tail.size(), 'b') + tail);
    const auto pong = client->next_text();
    REQUIRE(pong);
    CHECK(pong->size() == 4096);
  }
  {
    // Only the header of a frame one byte over the limit: the answer needs no payload.
    auto client = server.open_after_hello("bob");
    client->send_raw(encode_frame(opcode::text, std::string(4097, 'x')).substr(0, 8));
    const auto texts = read_until_close(*client, 10s);
    CHECK(client->close_code == std::optional<uint16_t>(1009));
    CHECK(texts == std::vector<std::string>{goodbye});
  }
  {
    // Fragments that add up to one byte over.
    auto client = server.open_after_hello("carol");
    client->send_frame(opcode::text, std::string(4000, 'x'), false);
    client->send_frame(opcode::continuation, std::string(97, 'x'), true);
    read_until_close(*client, 10s);
    CHECK(client->close_code == std::optional<uint16_t>(1009));
  }
  check_bystander(*bystander, 1);
}

TEST_CASE_FIXTURE(server_fixture, "close codes a client may not send are answered with 1002") {
  auto bystander = open_after_hello("bystander");
  for (uint16_t code : {5000, 65535, 1005, 1006, 1015, 999, 2000}) {
    CAPTURE(code);
    auto client = open_after_hello("alice");
    client->send_raw(encode_frame(opcode::close, close_payload(code)));
    CHECK(client->wait_close() == std::optional<uint16_t>(1002));
  }
  for (uint16_t code : {1000, 1001, 3000, 4999}) {
    CAPTURE(code);
    auto client = open_after_hello("alice");
    client->send_raw(encode_frame(opcode::close, close_payload(code)));
    CHECK(client->wait_close() == std::optional<uint16_t>(code));  // echoed, as the original does
  }
  check_bystander(*bystander, 1);
}

TEST_CASE("a message not finished within the message timeout is closed with 1008") {
  auto options = test_options();
  options.server.websocket.message_timeout = std::chrono::milliseconds(300);
  server_fixture server(options);
  auto bystander = server.open_after_hello("bystander");
  auto fragments = server.open_after_hello("alice");
  fragments->send_frame(opcode::text, R"({"type":"ping",)", false);
  auto partial_frame = server.open_after_hello("bob");
  partial_frame->send_raw(encode_frame(opcode::text, R"({"type":"ping","id":1})").substr(0, 10));
  for (auto* client : {fragments.get(), partial_frame.get()}) {
    const auto texts = read_until_close(*client, 10s);
    CHECK(client->close_code == std::optional<uint16_t>(1008));
    CHECK(client->close_reason == "message timeout");
    CHECK(texts == std::vector<std::string>{goodbye});
  }
  // Messages that complete in time are not affected, however many there are.
  for (int i = 0; i < 5; ++i) check_bystander(*bystander, i);
}

TEST_CASE("unfinished messages beyond the budget: the largest holders are closed with 1008 server busy") {
  auto options = test_options();
  options.server.websocket.max_unfinished_bytes = 256 * 1024;
  server_fixture server(options);
  auto bystander = server.open_after_hello("bystander");
  auto small = server.open_after_hello("alice");
  auto large = server.open_after_hello("bob");
  auto last = server.open_after_hello("carol");
  small->send_frame(opcode::text, "{\"type\":\"ping\",\"pad\":\"" + std::string(60 * 1024, 'a'), false);
  check_bystander(*bystander, 1);  // the server has read alice's fragment by now
  large->send_frame(opcode::text, "{\"type\":\"ping\",\"pad\":\"" + std::string(150 * 1024, 'b'), false);
  check_bystander(*bystander, 2);
  last->send_frame(opcode::text, "{\"type\":\"ping\",\"pad\":\"" + std::string(100 * 1024, 'c'), false);
  const auto texts = read_until_close(*large, 10s);
  CHECK(large->close_code == std::optional<uint16_t>(1008));
  CHECK(large->close_reason == "server busy");
  CHECK(texts == std::vector<std::string>{goodbye});
  // The others finish their messages normally.
  small->send_frame(opcode::continuation, "\"}", true);
  last->send_frame(opcode::continuation, "\"}", true);
  for (auto* client : {small.get(), last.get()}) {
    const auto pong = client->next_text();
    REQUIRE(pong);
    CHECK(pong->find(R"("type":"pong")") != std::string::npos);
  }
  check_bystander(*bystander, 3);
}

TEST_CASE("input flow control: with one frame in flight at a time, a burst is answered whole and in order") {
  auto options = test_options();
  options.server.websocket.max_inflight_frames = 1;
  options.server.websocket.max_inflight_bytes = 64;
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);
  auto bystander = server.open_after_hello("bystander");
  auto client = server.open_after_hello("alice");
  std::string burst;
  for (int i = 0; i < 500; ++i) burst += encode_frame(opcode::text, R"({"type":"ping","id":)" + std::to_string(i) + "}");
  client->send_raw(burst);
  for (int i = 0; i < 500; ++i) {
    const auto pong = client->next_text();
    REQUIRE(pong);
    CHECK(*pong == R"({"id":)" + std::to_string(i) + R"(,"type":"pong"})");
  }
  check_bystander(*bystander, 1);
}

namespace {

// Sends `flood` (frames the frame budget counts, then the end of a JSON ping with id 1) at 20
// budget frames per second, the burst too, and returns how long its pong took, after
// checking that a bystander was answered meanwhile. 120 counted frames cannot be read sooner
// than 100 / 20 = 5 s after the first: a floor the server's own pacing sets, which a slower
// machine only raises.
std::chrono::steady_clock::duration pong_wait_behind(const std::string& flood) {
  auto options = test_options();
  options.server.websocket.frames_per_second = 20;
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);
  auto bystander = server.open_after_hello("bystander");
  auto client = server.open_after_hello("alice");
  client->auto_pong = false;
  const auto started = std::chrono::steady_clock::now();
  client->send_raw(flood);
  check_bystander(*bystander, 1);  // answered while alice's flood waits
  std::optional<std::string> text;
  while (!text) {
    auto frame = client->next_frame(std::chrono::seconds(30));
    REQUIRE(frame);
    if (frame->op == opcode::text) text = frame->payload;
  }
  CHECK(*text == R"({"id":1,"type":"pong"})");
  return std::chrono::steady_clock::now() - started;
}

}  // namespace

TEST_CASE("a flood of control frames is read at the control budget's pace, others go on") {
  std::string flood;
  for (int i = 0; i < 120; ++i)
    flood += encode_frame(i % 2 == 0 ? opcode::pong : opcode::ping, "x");
  flood += encode_frame(opcode::text, R"({"type":"ping","id":1})");
  CHECK(pong_wait_behind(flood) >= std::chrono::milliseconds(4900));
}

TEST_CASE("a flood of empty fragments is read at the frame budget's pace, others go on") {
  // Empty continuation frames carry no bytes and end no message, so the RTM rate limit never
  // sees them; the frame budget does.
  std::string flood = encode_frame(opcode::text, R"({"type":"ping",)", false);
  for (int i = 0; i < 119; ++i) flood += encode_frame(opcode::continuation, "", false);
  flood += encode_frame(opcode::continuation, R"("id":1})");
  CHECK(pong_wait_behind(flood) >= std::chrono::milliseconds(4900));
}

TEST_CASE("back-to-back fragmented messages each get the whole message timeout") {
  // Every send ends one message and begins the next, so a read never ends between
  // messages; each message takes 100 ms, far below the 3 s timeout.
  auto options = test_options();
  options.server.websocket.message_timeout = std::chrono::seconds(3);
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);
  auto client = server.open_after_hello("alice");
  client->send_raw(encode_frame(opcode::text, R"({"type":"ping",)", false));
  const int messages = 50;
  for (int i = 1; i <= messages; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string send = encode_frame(opcode::continuation, R"("id":)" + std::to_string(i) + "}");
    if (i < messages) send += encode_frame(opcode::text, R"({"type":"ping",)", false);
    client->send_raw(send);
  }
  for (int i = 1; i <= messages; ++i) {
    const auto pong = client->next_text();
    REQUIRE_MESSAGE(pong, "pong " << i);
    CHECK(*pong == R"({"id":)" + std::to_string(i) + R"(,"type":"pong"})");
  }
  CHECK_FALSE(client->close_code.has_value());
}

TEST_CASE_FIXTURE(server_fixture, "a client's pings are answered with pongs ahead of queued frames, and text frames keep order") {
  auto client = open_after_hello("alice");
  client->auto_pong = false;
  std::string burst;
  for (int i = 0; i < 50; ++i) burst += encode_frame(opcode::text, R"({"type":"ping","id":)" + std::to_string(i) + "}");
  burst += encode_frame(opcode::ping, "p1");
  client->send_raw(burst);
  int next_id = 0;
  bool got_pong = false;
  while (next_id < 50 || !got_pong) {
    auto frame = client->next_frame();
    REQUIRE(frame);
    if (frame->op == opcode::pong) {
      CHECK(frame->payload == "p1");
      got_pong = true;
    } else {
      REQUIRE(frame->op == opcode::text);
      CHECK(frame->payload == R"({"id":)" + std::to_string(next_id) + R"(,"type":"pong"})");
      ++next_id;
    }
  }
}
