#include "support/json_check.hpp"

#include <cstdint>
#include <cstdio>

namespace kwm::test {
namespace {

// Length of the UTF-8 sequence at `text[at]`, or 0 when it is not a valid one.
size_t utf8_sequence(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(at);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t code;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    code = code << 6 | (byte(at + i) & 0x3F);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  if (overlong || surrogate || code > 0x10FFFF) return 0;
  return length;
}

class checker {
 public:
  explicit checker(std::string_view text) : text_(text) {}

  json_verdict run() {
    skip_space();
    if (value(1) && (skip_space(), at_ == text_.size())) {
      verdict_.valid = true;
    } else if (verdict_.error.empty()) {
      fail("trailing bytes");
    }
    return std::move(verdict_);
  }

 private:
  static constexpr size_t depth_limit = 512;  // far above what the server may write

  bool fail(const std::string& why) {
    if (verdict_.error.empty()) verdict_.error = why + " at byte " + std::to_string(at_);
    return false;
  }
  bool more() const { return at_ < text_.size(); }
  char peek() const { return more() ? text_[at_] : '\0'; }
  void skip_space() {
    while (more() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++at_;
  }
  bool literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return fail("bad literal");
    at_ += word.size();
    return true;
  }

  bool value(size_t depth) {
    if (depth > verdict_.max_depth) verdict_.max_depth = depth;
    if (depth > depth_limit) return fail("nesting too deep");
    switch (peek()) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  bool object(size_t depth) {
    ++at_;
    skip_space();
    if (peek() == '}') return ++at_, true;
    while (true) {
      skip_space();
      if (peek() != '"') return fail("object key expected");
      if (!string()) return false;
      skip_space();
      if (peek() != ':') return fail("':' expected");
      ++at_;
      skip_space();
      if (!value(depth + 1)) return false;
      skip_space();
      if (peek() == '}') return ++at_, true;
      if (peek() != ',') return fail("',' or '}' expected");
      ++at_;
    }
  }

  bool array(size_t depth) {
    ++at_;
    skip_space();
    if (peek() == ']') return ++at_, true;
    while (true) {
      skip_space();
      if (!value(depth + 1)) return false;
      skip_space();
      if (peek() == ']') return ++at_, true;
      if (peek() != ',') return fail("',' or ']' expected");
      ++at_;
    }
  }

  bool hex4(uint32_t& code) {
    if (at_ + 4 > text_.size()) return fail("short \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[at_++];
      code <<= 4;
      if (c >= '0' && c <= '9')
        code |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        code |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        code |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("bad hex digit");
    }
    return true;
  }

  bool escape() {
    const char c = peek();
    ++at_;
    if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
        c == 't')
      return true;
    if (c != 'u') return fail("bad escape");
    uint32_t code = 0;
    if (!hex4(code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return fail("lone low surrogate escape");
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (text_.substr(at_, 2) != "\\u") return fail("lone high surrogate escape");
      at_ += 2;
      uint32_t low = 0;
      if (!hex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return fail("high surrogate escape without its low half");
    }
    return true;
  }

  bool string() {
    ++at_;
    while (true) {
      if (!more()) return fail("unterminated string");
      const auto c = static_cast<uint8_t>(peek());
      if (c == '"') return ++at_, true;
      if (c < 0x20) return fail("raw control character in string");
      if (c == '\\') {
        ++at_;
        if (!escape()) return false;
        continue;
      }
      const size_t length = utf8_sequence(text_, at_);
      if (length == 0) return fail("invalid UTF-8 in string");
      at_ += length;
    }
  }

  bool digits() {
    const size_t start = at_;
    while (more() && peek() >= '0' && peek() <= '9') ++at_;
    return at_ > start;
  }

  bool number() {
    const size_t start = at_;
    if (peek() == '-') ++at_;
    if (peek() == '0') {
      ++at_;
    } else if (!digits()) {
      return fail("value expected");
    }
    if (peek() == '.') {
      ++at_;
      if (!digits()) return fail("digits expected after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++at_;
      if (peek() == '+' || peek() == '-') ++at_;
      if (!digits()) return fail("digits expected in exponent");
    }
    verdict_.numbers.emplace_back(text_.substr(start, at_ - start));
    return true;
  }

  std::string_view text_;
  size_t at_ = 0;
  json_verdict verdict_;
};

}  // namespace

json_verdict check_json(std::string_view text) {
  return checker(text).run();
}

std::optional<rapidjson::Document> parse_checked(std::string_view text, std::string& why) {
  const auto verdict = check_json(text);
  if (!verdict.valid) {
    why = "invalid JSON (" + verdict.error + "): " + excerpt(text);
    return std::nullopt;
  }
  for (const auto& number : verdict.numbers)
    if (number.size() > 32) {
      why = "a number no serialiser writes (" + excerpt(number, 40) + "): " + excerpt(text);
      return std::nullopt;
    }
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    why = "RapidJSON refused what the strict check accepted: " + excerpt(text);
    return std::nullopt;
  }
  return doc;
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t at = 0; at < bytes.size();) {
    const size_t length = utf8_sequence(bytes, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

std::string excerpt(std::string_view bytes, size_t limit) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto c = static_cast<uint8_t>(bytes[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    }
  }
  if (bytes.size() > limit) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace kwm::test
