#pragma once
// The JSON grammar of RFC 8259 as one iterative scanner, shared by the hardened reader
// (json_reader.cpp, D18) and the output check (json_check.cpp, D19). Internal to protocol/.
//
// It reports what it reads as RapidJSON SAX events, so a rapidjson::GenericDocument can be
// the handler and the code that reads DOMs stays as it is; RapidJSON's own reader (which
// recurses per nesting level and crashes on some numbers in 1.1.0) never sees the text.
// Nothing here recurses, allocates per token, or trusts a length it has not checked.
#include <rapidjson/error/error.h>
#include <rapidjson/rapidjson.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwm::protocol::json_grammar {

// What an escape that leaves a lone UTF-16 surrogate (`"\udc00"`, `"\ud800x"`) means.
enum class lone_surrogates {
  replace,  // U+FFFD, as Go's encoding/json decodes it (the reader)
  reject,   // invalid text (the output check: we never write one)
};

struct options {
  std::size_t max_depth = std::numeric_limits<std::size_t>::max();
  std::size_t max_elements = std::numeric_limits<std::size_t>::max();
  lone_surrogates surrogates = lone_surrogates::replace;
};

// Longest text accepted: RapidJSON sizes (string lengths, member counts) are 32 bits.
inline constexpr std::size_t max_text_bytes = std::numeric_limits<rapidjson::SizeType>::max();

namespace detail {

inline bool is_digit(char c) {
  return static_cast<unsigned char>(c - '0') < 10;
}

// Bytes a string may hold raw without a closer look: printable ASCII except '"' and '\'.
inline bool is_plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

// Skips plain string bytes, eight at a time while no byte of a word needs a closer look.
inline const char* skip_plain(const char* p, const char* end) {
  constexpr uint64_t ones = 0x0101010101010101ULL;
  constexpr uint64_t highs = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof word);
    const uint64_t quote = word ^ (ones * '"');
    const uint64_t backslash = word ^ (ones * '\\');
    // A high bit survives where a byte is below 0x20, is '"' or '\' (zero after the xor),
    // or is not ASCII; borrows only run upwards from such a byte, so "any" is exact.
    const uint64_t special =
        ((word - ones * 0x20) | (quote - ones) | (backslash - ones) | word) & highs;
    if (special != 0) break;
    p += 8;
  }
  while (p != end && is_plain(static_cast<unsigned char>(*p))) ++p;
  return p;
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Four hex digits at p (the caller checked that they are there).
inline bool read_hex4(const char* p, uint32_t& code) {
  code = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = hex_value(p[i]);
    if (digit < 0) return false;
    code = code << 4 | static_cast<uint32_t>(digit);
  }
  return true;
}

inline void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | code >> 6);
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | code >> 12);
    out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | code >> 18);
    out += static_cast<char>(0x80 | (code >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) that starts with a byte >= 0x80 at p, or 0.
inline std::size_t utf8_sequence_length(const char* p, const char* end) {
  const auto* s = reinterpret_cast<const unsigned char*>(p);
  const std::size_t left = static_cast<std::size_t>(end - p);
  auto continuation = [](unsigned char c) { return (c & 0xC0) == 0x80; };
  const unsigned char lead = s[0];
  if (lead >= 0xC2 && lead <= 0xDF) return left >= 2 && continuation(s[1]) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return left >= 3 && s[1] >= low && s[1] <= high && continuation(s[2]) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return left >= 4 && s[1] >= low && s[1] <= high && continuation(s[2]) && continuation(s[3]) ? 4
                                                                                                : 0;
  }
  return 0;
}

// For a number std::from_chars found out of range: true when it is too large (invalid
// JSON), false when it is too small (it becomes a signed zero, as in Go). Only the sign of
// "where the first significant digit sits" matters, so the exponent is clamped.
inline bool beyond_double_range(const char* p, const char* end) {
  if (*p == '-') ++p;
  const char* q = p;
  while (q != end && is_digit(*q)) ++q;
  int64_t position = 0;  // digits before the point, or minus the zeros right after it
  if (q - p > 1 || *p != '0') {
    position = q - p;
  } else if (q != end && *q == '.') {
    const char* zeros = ++q;
    while (q != end && *q == '0') ++q;
    position = -(q - zeros);
  }
  if (q != end && *q == '.') ++q;
  while (q != end && is_digit(*q)) ++q;
  int64_t exponent = 0;
  if (q != end && (*q == 'e' || *q == 'E')) {
    ++q;
    const bool negative = q != end && *q == '-';
    if (q != end && (*q == '-' || *q == '+')) ++q;
    constexpr int64_t clamp = int64_t{1} << 40;
    for (; q != end && is_digit(*q); ++q)
      if (exponent < clamp) exponent = exponent * 10 + (*q - '0');
    if (negative) exponent = -exponent;
  }
  return position + exponent > 0;
}

}  // namespace detail

// One pass over `text`; events go to `handler` (RapidJSON's SAX interface). Decoded
// strings that contain escapes are assembled in `unescaped` (scratch the caller reuses).
template <class Handler>
class scanner {
 public:
  scanner(std::string_view text, Handler& handler, const options& limits, std::string& unescaped)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        handler_(handler),
        limits_(limits),
        unescaped_(unescaped) {}

  rapidjson::ParseResult run() {
    (void)text();
    return result_;
  }

 private:
  // One value, whitespace around it allowed. Failures are in result_.
  bool text() {
    if (static_cast<std::size_t>(end_ - begin_) > max_text_bytes)
      return fail(rapidjson::kParseErrorTermination);
    skip_space();
    if (p_ == end_) return fail(rapidjson::kParseErrorDocumentEmpty);
    if (!document()) return false;
    skip_space();
    return p_ == end_ || fail(rapidjson::kParseErrorDocumentRootNotSingular);
  }

  struct frame {
    uint32_t count;  // members or elements so far
    bool object;
  };

  bool fail(rapidjson::ParseErrorCode code) { return fail_at(code, p_); }
  bool fail_at(rapidjson::ParseErrorCode code, const char* where) {
    result_.Set(code, static_cast<std::size_t>(where - begin_));
    return false;
  }
  bool handled(bool ok) { return ok || fail(rapidjson::kParseErrorTermination); }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  // The value at p_ and everything nested in it, one token per turn of the loop.
  bool document() {
    for (;;) {
      if (p_ == end_) return fail(rapidjson::kParseErrorValueInvalid);
      switch (*p_) {
        case '{':
        case '[': {
          bool empty = false;
          if (!open_container(empty)) return false;
          if (!empty) continue;  // its first value is next
          break;
        }
        case '"':
          if (!string(false)) return false;
          break;
        case 't':
          if (!literal("true", 4) || !handled(handler_.Bool(true))) return false;
          break;
        case 'f':
          if (!literal("false", 5) || !handled(handler_.Bool(false))) return false;
          break;
        case 'n':
          if (!literal("null", 4) || !handled(handler_.Null())) return false;
          break;
        default:
          if (!number()) return false;
      }
      // A value is complete: close what ends here, or find where the next value starts.
      for (;;) {
        if (depth_ == 0) return true;
        frame& top = frames_[depth_ - 1];
        skip_space();
        if (p_ != end_ && *p_ == ',') {
          ++p_;
          skip_space();
          if (!next_element(top)) return false;
          break;
        }
        if (p_ != end_ && *p_ == (top.object ? '}' : ']')) {
          ++p_;
          const uint32_t count = top.count;
          const bool object = top.object;
          --depth_;
          if (!handled(object ? handler_.EndObject(count) : handler_.EndArray(count))) return false;
          continue;
        }
        return fail(top.object ? rapidjson::kParseErrorObjectMissCommaOrCurlyBracket
                               : rapidjson::kParseErrorArrayMissCommaOrSquareBracket);
      }
    }
  }

  // At '{' or '['. An empty container is reported whole; otherwise it is pushed with its
  // first element counted (and, for an object, its first key read).
  bool open_container(bool& empty) {
    const bool object = *p_ == '{';
    if (depth_ >= limits_.max_depth) return fail(rapidjson::kParseErrorTermination);
    if (!handled(object ? handler_.StartObject() : handler_.StartArray())) return false;
    ++p_;
    skip_space();
    if (p_ != end_ && *p_ == (object ? '}' : ']')) {
      ++p_;
      empty = true;
      return handled(object ? handler_.EndObject(0) : handler_.EndArray(0));
    }
    if (depth_ == capacity_) grow();
    frame& top = frames_[depth_++];
    top = {0, object};
    return next_element(top);
  }

  // Counts the member or element that starts at p_; for an object, reads its key and ':'.
  bool next_element(frame& top) {
    if (++elements_ > limits_.max_elements) return fail(rapidjson::kParseErrorTermination);
    ++top.count;
    if (!top.object) return true;
    if (p_ == end_ || *p_ != '"') return fail(rapidjson::kParseErrorObjectMissName);
    if (!string(true)) return false;
    skip_space();
    if (p_ == end_ || *p_ != ':') return fail(rapidjson::kParseErrorObjectMissColon);
    ++p_;
    skip_space();
    return true;
  }

  void grow() {
    const std::size_t capacity = capacity_ * 2;
    if (frames_ == inline_frames_.data()) {
      spilled_.resize(capacity);
      std::memcpy(spilled_.data(), inline_frames_.data(), depth_ * sizeof(frame));
    } else {
      spilled_.resize(capacity);
    }
    frames_ = spilled_.data();
    capacity_ = capacity;
  }

  bool literal(const char* word, std::size_t length) {
    if (static_cast<std::size_t>(end_ - p_) < length || std::memcmp(p_, word, length) != 0)
      return fail(rapidjson::kParseErrorValueInvalid);
    p_ += length;
    return true;
  }

  bool number() {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || !detail::is_digit(*p_)) return fail(rapidjson::kParseErrorValueInvalid);
    uint64_t magnitude = 0;
    bool too_long = false;
    if (*p_ == '0') {
      ++p_;
    } else {
      do {
        const auto digit = static_cast<uint64_t>(*p_ - '0');
        too_long = too_long || __builtin_mul_overflow(magnitude, 10, &magnitude) ||
                   __builtin_add_overflow(magnitude, digit, &magnitude);
        ++p_;
      } while (p_ != end_ && detail::is_digit(*p_));
    }
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !detail::is_digit(*p_))
        return fail(rapidjson::kParseErrorNumberMissFraction);
      while (p_ != end_ && detail::is_digit(*p_)) ++p_;
      integer = false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !detail::is_digit(*p_))
        return fail(rapidjson::kParseErrorNumberMissExponent);
      while (p_ != end_ && detail::is_digit(*p_)) ++p_;
      integer = false;
    }
    if (integer && !too_long) {
      // The types RapidJSON's reader gives integers, so DOM readers see what they saw before.
      constexpr uint64_t int_magnitude = uint64_t{1} << 31;
      constexpr uint64_t int64_magnitude = uint64_t{1} << 63;
      if (!negative) {
        if (magnitude <= std::numeric_limits<uint32_t>::max())
          return handled(handler_.Uint(static_cast<unsigned>(magnitude)));
        return handled(handler_.Uint64(magnitude));
      }
      if (magnitude <= int_magnitude)
        return handled(handler_.Int(static_cast<int>(-static_cast<int64_t>(magnitude))));
      if (magnitude < int64_magnitude)
        return handled(handler_.Int64(-static_cast<int64_t>(magnitude)));
      if (magnitude == int64_magnitude)
        return handled(handler_.Int64(std::numeric_limits<int64_t>::min()));
    }
    // Correctly rounded; out of range is either too large (invalid, as in Go's
    // encoding/json) or too small (a signed zero, as Go's strconv.ParseFloat gives).
    double value = 0;
    const auto [end, error] = std::from_chars(start, p_, value);
    if (error == std::errc::result_out_of_range) {
      if (detail::beyond_double_range(start, p_))
        return fail_at(rapidjson::kParseErrorNumberTooBig, start);
      value = negative ? -0.0 : 0.0;
    } else if (error != std::errc() || end != p_) {
      return fail_at(rapidjson::kParseErrorValueInvalid, start);
    }
    return handled(handler_.Double(value));
  }

  // At the opening quote. Strings without escapes are handed over from the text itself.
  bool string(bool key) {
    ++p_;
    const char* start = p_;
    for (;;) {
      p_ = detail::skip_plain(p_, end_);
      if (p_ == end_) return fail(rapidjson::kParseErrorStringMissQuotationMark);
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        const auto length = static_cast<rapidjson::SizeType>(p_ - start);
        ++p_;
        return handled(key ? handler_.Key(start, length, true)
                           : handler_.String(start, length, true));
      }
      if (c == '\\') return escaped_string(start, key);
      if (!raw_byte(c)) return false;
    }
  }

  // A control character, or the start of a UTF-8 sequence that must be well formed.
  bool raw_byte(unsigned char c) {
    if (c < 0x20) return fail(rapidjson::kParseErrorStringEscapeInvalid);
    const std::size_t length = detail::utf8_sequence_length(p_, end_);
    if (length == 0) return fail(rapidjson::kParseErrorStringInvalidEncoding);
    p_ += length;
    return true;
  }

  bool escaped_string(const char* start, bool key) {
    unescaped_.assign(start, p_);
    for (;;) {
      const char* plain = p_;
      p_ = detail::skip_plain(p_, end_);
      unescaped_.append(plain, p_);
      if (p_ == end_) return fail(rapidjson::kParseErrorStringMissQuotationMark);
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        const auto length = static_cast<rapidjson::SizeType>(unescaped_.size());
        return handled(key ? handler_.Key(unescaped_.data(), length, true)
                           : handler_.String(unescaped_.data(), length, true));
      }
      if (c == '\\') {
        if (!escape()) return false;
        continue;
      }
      const char* sequence = p_;
      if (!raw_byte(c)) return false;
      unescaped_.append(sequence, p_);
    }
  }

  // At a backslash: appends what the escape stands for.
  bool escape() {
    const char* backslash = p_++;
    if (p_ == end_) return fail_at(rapidjson::kParseErrorStringEscapeInvalid, backslash);
    const char c = *p_++;
    switch (c) {
      case '"':
        unescaped_ += '"';
        return true;
      case '\\':
        unescaped_ += '\\';
        return true;
      case '/':
        unescaped_ += '/';
        return true;
      case 'b':
        unescaped_ += '\b';
        return true;
      case 'f':
        unescaped_ += '\f';
        return true;
      case 'n':
        unescaped_ += '\n';
        return true;
      case 'r':
        unescaped_ += '\r';
        return true;
      case 't':
        unescaped_ += '\t';
        return true;
      case 'u':
        break;
      default:
        return fail_at(rapidjson::kParseErrorStringEscapeInvalid, backslash);
    }
    uint32_t code = 0;
    if (end_ - p_ < 4 || !detail::read_hex4(p_, code))
      return fail_at(rapidjson::kParseErrorStringUnicodeEscapeInvalidHex, backslash);
    p_ += 4;
    if (code >= 0xD800 && code <= 0xDFFF) {
      // Go's rule: a high surrogate joins a directly following low-surrogate escape;
      // anything else leaves it lone, and the next escape is read on its own.
      uint32_t low = 0;
      if (code <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u' &&
          detail::read_hex4(p_ + 2, low) && low >= 0xDC00 && low <= 0xDFFF) {
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        p_ += 6;
      } else if (limits_.surrogates == lone_surrogates::reject) {
        return fail_at(rapidjson::kParseErrorStringUnicodeSurrogateInvalid, backslash);
      } else {
        code = 0xFFFD;
      }
    }
    detail::append_utf8(unescaped_, code);
    return true;
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  Handler& handler_;
  const options& limits_;
  std::string& unescaped_;
  rapidjson::ParseResult result_;
  std::size_t elements_ = 0;
  std::size_t depth_ = 0;
  // Open containers: inline up to the default depth limit and beyond, spilled to the heap
  // only by the output check, which has no limit.
  std::array<frame, 64> inline_frames_;
  std::vector<frame> spilled_;
  frame* frames_ = inline_frames_.data();
  std::size_t capacity_ = inline_frames_.size();
};

}  // namespace kwm::protocol::json_grammar
