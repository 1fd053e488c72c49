// libFuzzer target: bytes from a client socket through the WebSocket frame reader, cut into
// reads at the positions the input itself chooses, with flow-control pauses. Must never
// crash, hang or leak, and every text message it reports must be valid UTF-8 within the
// limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "net/detail/utf8_validator.hpp"
#include "net/websocket_frames.hpp"

namespace {

constexpr std::size_t limit = 4096;

struct checker {
  bool pause = false;
  bool on_text(std::string_view payload) {
    kwm::net::detail::utf8_validator utf8;
    if (payload.size() > limit || !utf8.feed(reinterpret_cast<const unsigned char*>(payload.data()), payload.size()) ||
        !utf8.complete())
      std::abort();
    return !pause;
  }
  bool on_binary(std::size_t size) {
    if (size > limit) std::abort();
    return !pause;
  }
  bool on_ping(std::string_view payload) {
    if (payload.size() > 125) std::abort();
    return !pause;
  }
  bool on_pong(std::string_view payload) { return on_ping(payload); }
  bool on_fragment() { return !pause; }
  void on_close(uint16_t, std::string_view reason) {
    if (reason.size() > 123) std::abort();
  }
  void on_error(kwm::net::ws::read_error) {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first byte chooses the read size and whether messages pause the reader.
  const std::size_t step = 1 + data[0] % 64;
  checker events;
  events.pause = (data[0] & 0x80) != 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  kwm::net::ws::frame_reader reader(limit);
  std::size_t pos = 0;
  while (pos < bytes.size() && !reader.finished()) {
    const std::size_t n = std::min(step, bytes.size() - pos);
    const std::size_t used = reader.feed(bytes.data() + pos, n, events);
    if (used > n) std::abort();
    // A pause leaves bytes unconsumed: they are fed again, as the session does.
    pos += used;
    if (used == 0 && !reader.finished()) pos += n;  // nothing taken: a pause on an empty message
  }
  return 0;
}
