#pragma once
// Incremental UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF), for text messages that arrive in pieces. Pure code; used by the WebSocket reader.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kwm::net::detail {

class utf8_validator {
 public:
  // Feeds the next piece; false as soon as the bytes so far cannot be UTF-8.
  bool feed(const unsigned char* p, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
      if (pending_ == 0) {
        // ASCII runs are the common case in JSON: eight bytes per step.
        while (i + 8 <= n) {
          uint64_t word;
          std::memcpy(&word, p + i, 8);
          if (word & 0x8080808080808080ull) break;
          i += 8;
        }
        if (i == n) break;
        const unsigned char c = p[i++];
        if (c < 0x80) continue;
        if (c < 0xC2 || c > 0xF4) return fail();
        if (c < 0xE0) {
          pending_ = 1;
          low_ = 0x80, high_ = 0xBF;
        } else if (c < 0xF0) {
          pending_ = 2;
          low_ = c == 0xE0 ? 0xA0 : 0x80;  // no overlong three-byte forms
          high_ = c == 0xED ? 0x9F : 0xBF;  // no UTF-16 surrogates
        } else {
          pending_ = 3;
          low_ = c == 0xF0 ? 0x90 : 0x80;  // no overlong four-byte forms
          high_ = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
        }
        continue;
      }
      const unsigned char c = p[i++];
      if (c < low_ || c > high_) return fail();
      low_ = 0x80, high_ = 0xBF;
      --pending_;
    }
    return true;
  }

  // True when the bytes fed so far end on a character boundary.
  bool complete() const { return pending_ == 0; }

  void reset() { pending_ = 0; }

 private:
  bool fail() {
    pending_ = 0;
    return false;
  }

  uint8_t pending_ = 0;  // continuation bytes still expected
  unsigned char low_ = 0x80, high_ = 0xBF;  // range of the next continuation byte
};

}  // namespace kwm::net::detail
