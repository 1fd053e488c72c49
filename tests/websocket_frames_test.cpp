// The RFC 6455 frame reader and header encoder, fed byte sequences directly: every split
// point, every violation, the limits.
#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "net/detail/unfinished_budget.hpp"
#include "net/detail/utf8_validator.hpp"
#include "net/websocket_frames.hpp"
#include "support/raw_client.hpp"

using namespace kwm::net;

namespace {

// A client frame (masked unless told), as the test clients encode it.
std::string client_frame(ws::opcode op, std::string_view payload, bool fin = true, uint8_t rsv = 0,
                         bool masked = true) {
  return kwm::test::encode_frame(static_cast<kwm::test::opcode>(op), payload, fin, masked, rsv);
}

struct recorder {
  std::vector<std::string> texts;
  std::vector<std::size_t> binaries;
  std::vector<std::string> pings, pongs;
  int fragments = 0;
  std::optional<uint16_t> close_code;
  std::string close_reason;
  ws::read_error error = ws::read_error::none;
  bool pause_after_text = false;

  bool on_text(std::string_view payload) {
    texts.emplace_back(payload);
    return !pause_after_text;
  }
  bool on_binary(std::size_t size) {
    binaries.push_back(size);
    return true;
  }
  bool on_ping(std::string_view payload) {
    pings.emplace_back(payload);
    return true;
  }
  bool on_pong(std::string_view payload) {
    pongs.emplace_back(payload);
    return true;
  }
  bool on_fragment() {
    ++fragments;
    return true;
  }
  void on_close(uint16_t code, std::string_view reason) {
    close_code = code;
    close_reason = reason;
  }
  void on_error(ws::read_error e) { error = e; }
};

// Feeds `bytes` in pieces of `step` bytes, as a socket might deliver them.
recorder feed_in_steps(const std::string& bytes, std::size_t step, std::size_t limit = 1 << 20) {
  ws::frame_reader reader(limit);
  recorder events;
  std::string copy = bytes;
  for (std::size_t pos = 0; pos < copy.size() && !reader.finished(); pos += step) {
    const std::size_t n = std::min(step, copy.size() - pos);
    CHECK(reader.feed(copy.data() + pos, n, events) <= n);
  }
  return events;
}

}  // namespace

TEST_CASE("frame reader: messages come out whole at every split point") {
  const std::string text(300, 'x');
  std::string stream = client_frame(ws::opcode::text, R"({"type":"ping"})") +
                       client_frame(ws::opcode::text, "{\"a\":\"", false) + client_frame(ws::opcode::ping, "abc") +
                       client_frame(ws::opcode::continuation, text, false) +
                       client_frame(ws::opcode::continuation, "\"}", true) +
                       client_frame(ws::opcode::binary, std::string(70000, '\x01')) +
                       client_frame(ws::opcode::pong, "12345678") + client_frame(ws::opcode::close, "\x03\xe8" "bye");
  for (std::size_t step : {1, 2, 3, 7, 13, 64, 1000, 100000}) {
    CAPTURE(step);
    const auto events = feed_in_steps(stream, step);
    REQUIRE(events.texts.size() == 2);
    CHECK(events.texts[0] == R"({"type":"ping"})");
    CHECK(events.texts[1] == "{\"a\":\"" + text + "\"}");
    CHECK(events.binaries == std::vector<std::size_t>{70000});
    CHECK(events.pings == std::vector<std::string>{"abc"});
    CHECK(events.pongs == std::vector<std::string>{"12345678"});
    CHECK(events.fragments == 2);  // the frames of the second text that do not end it
    CHECK(events.close_code == std::optional<uint16_t>(1000));
    CHECK(events.close_reason == "bye");
    CHECK(events.error == ws::read_error::none);
  }
}

TEST_CASE("frame reader: protocol violations") {
  auto error_of = [](const std::string& bytes) { return feed_in_steps(bytes, bytes.size()).error; };
  CHECK(error_of(client_frame(ws::opcode::text, "x", true, 0, false)) == ws::read_error::protocol);  // unmasked
  CHECK(error_of(client_frame(ws::opcode::text, "x", true, 0x40)) == ws::read_error::protocol);     // RSV1
  CHECK(error_of(client_frame(static_cast<ws::opcode>(3), "x")) == ws::read_error::protocol);        // reserved op
  CHECK(error_of(client_frame(static_cast<ws::opcode>(11), "x")) == ws::read_error::protocol);
  CHECK(error_of(client_frame(ws::opcode::ping, std::string(126, 'p'))) == ws::read_error::protocol);
  CHECK(error_of(client_frame(ws::opcode::ping, "x", false)) == ws::read_error::protocol);           // fragmented control
  CHECK(error_of(client_frame(ws::opcode::continuation, "x")) == ws::read_error::protocol);          // nothing to continue
  CHECK(error_of(client_frame(ws::opcode::text, "a", false) + client_frame(ws::opcode::text, "b")) ==
        ws::read_error::protocol);  // a new message inside a fragmented one
  CHECK(error_of(client_frame(ws::opcode::close, "\x03")) == ws::read_error::protocol);  // 1-byte close payload
  std::string huge_length = client_frame(ws::opcode::binary, "");
  huge_length[1] = static_cast<char>(0x80 | 127);
  huge_length.insert(2, "\x80\0\0\0\0\0\0\0", 8);  // the most significant bit of a 64-bit length
  CHECK(error_of(huge_length) == ws::read_error::protocol);
}

TEST_CASE("frame reader: close codes a peer may not send are protocol errors") {
  auto close_with = [](uint16_t code) {
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    return feed_in_steps(client_frame(ws::opcode::close, payload), 64);
  };
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    CAPTURE(code);
    CHECK(close_with(code).error == ws::read_error::protocol);
  }
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    CAPTURE(code);
    const auto events = close_with(code);
    CHECK(events.error == ws::read_error::none);
    CHECK(events.close_code == std::optional<uint16_t>(code));
  }
  CHECK(feed_in_steps(client_frame(ws::opcode::close, ""), 8).close_code == std::optional<uint16_t>(0));
  CHECK(feed_in_steps(client_frame(ws::opcode::close, "\x03\xe8\xC3\x28"), 8).error == ws::read_error::invalid_utf8);
}

TEST_CASE("frame reader: invalid UTF-8 in text, also split across fragments") {
  CHECK(feed_in_steps(client_frame(ws::opcode::text, "a\xC3\x28"), 64).error == ws::read_error::invalid_utf8);
  CHECK(feed_in_steps(client_frame(ws::opcode::text, "\xED\xA0\x80"), 64).error == ws::read_error::invalid_utf8);  // surrogate
  CHECK(feed_in_steps(client_frame(ws::opcode::text, "\xC0\xAF"), 64).error == ws::read_error::invalid_utf8);      // overlong
  CHECK(feed_in_steps(client_frame(ws::opcode::text, "\xF4\x90\x80\x80"), 64).error == ws::read_error::invalid_utf8);
  // A character split over two fragments is fine; a message ending inside one is not.
  const auto split = feed_in_steps(client_frame(ws::opcode::text, "\xE2\x82", false) +
                                       client_frame(ws::opcode::continuation, "\xAC"),
                                   3);
  CHECK(split.error == ws::read_error::none);
  CHECK(split.texts == std::vector<std::string>{"\xE2\x82\xAC"});
  CHECK(feed_in_steps(client_frame(ws::opcode::text, "\xE2\x82"), 64).error == ws::read_error::invalid_utf8);
  // Binary frames are not text.
  CHECK(feed_in_steps(client_frame(ws::opcode::binary, "\xC3\x28"), 64).error == ws::read_error::none);
}

TEST_CASE("frame reader: the message limit is exact, for one frame and for fragments") {
  const std::size_t limit = 1000;
  CHECK(feed_in_steps(client_frame(ws::opcode::text, std::string(limit, 'a')), 97, limit).texts.size() == 1);
  CHECK(feed_in_steps(client_frame(ws::opcode::text, std::string(limit + 1, 'a')), 97, limit).error ==
        ws::read_error::too_big);
  const auto fragmented = client_frame(ws::opcode::text, std::string(600, 'a'), false) +
                          client_frame(ws::opcode::continuation, std::string(401, 'a'));
  const auto events = feed_in_steps(fragmented, 50, limit);
  CHECK(events.error == ws::read_error::too_big);
  CHECK(events.texts.empty());
  // The limit is decided by the header: nothing of the payload needs to arrive.
  ws::frame_reader reader(limit);
  recorder header_only;
  auto head = client_frame(ws::opcode::text, std::string(limit + 1, 'a')).substr(0, 8);
  reader.feed(head.data(), head.size(), header_only);
  CHECK(header_only.error == ws::read_error::too_big);
}

TEST_CASE("frame reader: a pause leaves the rest unconsumed, and feeding it later goes on") {
  std::string stream = client_frame(ws::opcode::text, "one") + client_frame(ws::opcode::text, "two") +
                       client_frame(ws::opcode::text, "three");
  ws::frame_reader reader(1 << 20);
  recorder events;
  events.pause_after_text = true;
  std::size_t pos = 0;
  while (pos < stream.size()) pos += reader.feed(stream.data() + pos, stream.size() - pos, events);
  CHECK(events.texts == std::vector<std::string>{"one", "two", "three"});
}

TEST_CASE("frame reader: what an unfinished message holds is reported") {
  ws::frame_reader reader(1 << 20);
  recorder events;
  auto frame = client_frame(ws::opcode::text, std::string(100000, 'a'));
  reader.feed(frame.data(), 50000, events);
  CHECK(reader.in_message());
  CHECK(reader.held_bytes() >= 49000);
  reader.feed(frame.data() + 50000, frame.size() - 50000, events);
  CHECK_FALSE(reader.in_message());
  CHECK(reader.held_bytes() < 100);  // a large message's buffer is released
  REQUIRE(events.texts.size() == 1);
  CHECK(events.texts[0].size() == 100000);
}

TEST_CASE("frame reader: random bytes never crash it and never report invalid UTF-8 text") {
  std::mt19937 random(20261201);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(random() % 300, '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    if (!bytes.empty()) bytes[0] = static_cast<char>(0x81);
    if (bytes.size() > 1) bytes[1] = static_cast<char>(0x80 | (bytes[1] & 0x7F));
    ws::frame_reader reader(4096);
    recorder events;
    std::size_t pos = 0;
    while (pos < bytes.size() && !reader.finished()) {
      const std::size_t n = std::min<std::size_t>(1 + random() % 17, bytes.size() - pos);
      pos += reader.feed(bytes.data() + pos, n, events);
    }
    for (const auto& text : events.texts) {
      detail::utf8_validator check;
      CHECK((check.feed(reinterpret_cast<const unsigned char*>(text.data()), text.size()) && check.complete()));
    }
  }
}

TEST_CASE("frame header encoding: 7-, 16- and 64-bit lengths") {
  unsigned char header[10];
  CHECK(ws::encode_header(ws::opcode::text, 125, header) == 2);
  CHECK(header[0] == 0x81);
  CHECK(header[1] == 125);
  CHECK(ws::encode_header(ws::opcode::text, 126, header) == 4);
  CHECK(header[1] == 126);
  CHECK((header[2] << 8 | header[3]) == 126);
  CHECK(ws::encode_header(ws::opcode::close, 70000, header) == 10);
  CHECK(header[0] == 0x88);
  CHECK(header[1] == 127);
  CHECK((header[7] << 16 | header[8] << 8 | header[9]) == 70000);
}

TEST_CASE("unfinished budget: the largest holders are chosen until the rest fits") {
  detail::unfinished_budget<int, int> budget(1000);
  CHECK(budget.report(1, 1, 400).empty());
  CHECK(budget.report(2, 2, 300).empty());
  CHECK(budget.report(3, 3, 200).empty());
  CHECK(budget.report(4, 4, 500) == std::vector<int>{4});  // 1400 > 1000: the largest goes
  CHECK(budget.total() == 900);
  CHECK(budget.report(2, 2, 0).empty());
  CHECK(budget.total() == 600);
  CHECK(budget.report(3, 3, 900) == std::vector<int>{3});  // 1300: holder 3 is now the largest
  CHECK(budget.total() == 400);
}
