// libFuzzer target, structure-aware: the input bytes are decisions that build an RTM frame
// from the protocol's own vocabulary (types, subtypes, field names, data keys) and from the
// hostile shapes of issue 13 (numbers that crashed RapidJSON or became inf/NaN, lone
// surrogate escapes, invalid UTF-8, nesting around the depth limit, repeated keys), so that
// almost every execution reaches the validations instead of failing in the grammar. The
// frame then goes through what a connection does with it (fuzz/rtm_exercise.hpp).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/rtm_exercise.hpp"

namespace {

class decisions {
 public:
  decisions(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return used_ >= size_; }
  uint8_t byte() { return used_ < size_ ? data_[used_++] : 0; }
  size_t pick(size_t choices) { return choices == 0 ? 0 : byte() % choices; }
  template <class T, size_t n>
  const T& pick(const T (&table)[n]) {
    return table[pick(n)];
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t used_ = 0;
};

const char* const types[] = {"ping", "webrtc", "chats", "pong", "hello", ""};
const char* const subtypes[] = {"webrtc_call",    "webrtc_signal", "webrtc_hangup", "webrtc_group",
                                "webrtc_channel", "chats_message", "chats_system",  "x"};
const char* const envelope_keys[] = {"id",        "v",       "subtype",     "target", "source",
                                     "state",     "channel", "group",       "hash",   "pcid",
                                     "initiator", "profile", "transaction", "data",   "type",
                                     "ts",        "auth",    "reply_to",    "extra"};
const char* const data_keys[] = {"accept", "state",     "reason",      "kind", "sender", "target",
                                 "ts",     "text",      "richText",    "id",   "extra",  "sdp",
                                 "type",   "candidate", "renegotiate", "noop", "group",  "members"};
// Issue 13 items 1 and 6, the double range's edges, and integers at every type boundary.
const char* const numbers[] = {
    "0",
    "-0",
    "1",
    "-1",
    "0.0",
    "-0.0",
    "1.5",
    "1e3",
    "1E+2",
    "-2.5e-3",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "20180703",
    "99999999909099000.000007777777777777777777777777777777777770000000000928e-390",
    "1.7976931348623159e308",
    "1.7976931348623157e308",
    "999112.50356684760857e-330",
    "1111111111111111111e-343",
    "1e400",
    "-1e400",
    "1e-400",
    "-1e-400",
    "5e-324",
    "2.4703282292062327e-324",
    "2.4703282292062328e-324",
    "2.2250738585072011e-308",
    "1e99999999999999999999",
    "1e-99999999999999999999",
    "0e99999999999999999999",
    "123456789012345678901234567890e-20"};
// Escapes and raw bytes, valid and not.
const char* const string_pieces[] = {"alice",
                                     "bob",
                                     "@group",
                                     "*6uswzKyJS4QDZJzyyZA-OwzQWtNU4wNi",
                                     "",
                                     " ",
                                     "\\u0000",
                                     "\\udc00",
                                     "\\ud800",
                                     "\\ud800x",
                                     "\\ud800\\u0041",
                                     "\\ud83d\\ude00",
                                     "\\ud800\\ud800",
                                     "\\uDBFF\\uDFFF",
                                     "\\\"",
                                     "\\\\",
                                     "\\/",
                                     "\\b\\f\\n\\r\\t",
                                     "\\u00e9",
                                     "\\u20ac",
                                     "\\u",
                                     "\\x",
                                     "\xC3\xA9",
                                     "\xE2\x82\xAC",
                                     "\xF0\x9F\x98\x80",
                                     "\xED\xA0\x80",
                                     "\xC0\x80",
                                     "\xFF",
                                     "\xE2\x82",
                                     "\x7F",
                                     "\x01",
                                     "<b>",
                                     "conference/",
                                     "group/public/"};

class frame_builder {
 public:
  explicit frame_builder(decisions& in) : in_(in) {}

  std::string frame() {
    out_ = "{";
    const size_t members = in_.pick(12);
    write_key("type");
    string_value(in_.pick(types));
    if (in_.pick(4) != 0) {
      out_ += ',';
      write_key("subtype");
      string_value(in_.pick(subtypes));
    }
    for (size_t i = 0; i < members && !in_.empty(); ++i) {
      out_ += ',';
      write_key(in_.pick(8) == 0 ? in_.pick(data_keys) : in_.pick(envelope_keys));
      value(1);
    }
    out_ += '}';
    return out_;
  }

 private:
  void write_key(const char* key) {
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }

  void string_value(const char* text) {
    out_ += '"';
    out_ += text;
    out_ += '"';
  }

  void string_of_pieces() {
    out_ += '"';
    const size_t pieces = in_.pick(5);
    for (size_t i = 0; i < pieces; ++i) out_ += in_.pick(string_pieces);
    if (in_.pick(16) == 0) out_.append(in_.pick(4) * 2000, 'x');
    out_ += '"';
  }

  // depth: containers already open around this value (the frame's object is 1).
  void value(size_t depth) {
    switch (in_.pick(9)) {
      case 0:
        out_ += in_.pick(numbers);
        break;
      case 1:
        string_of_pieces();
        break;
      case 2:
        out_ += in_.pick(2) != 0 ? "true" : "false";
        break;
      case 3:
        out_ += "null";
        break;
      case 4:
        out_ += std::to_string(in_.byte());
        break;
      case 5:
        deep(depth);
        break;
      case 6:
      case 7:
        container(depth, true);
        break;
      default:
        container(depth, false);
    }
  }

  // An object (with data keys) or an array of up to five values.
  void container(size_t depth, bool object) {
    out_ += object ? '{' : '[';
    const size_t count = depth > 40 ? 0 : in_.pick(6);
    for (size_t i = 0; i < count; ++i) {
      if (i != 0) out_ += ',';
      if (object) write_key(in_.pick(data_keys));
      value(depth + 1);
    }
    out_ += object ? '}' : ']';
  }

  // Nesting straight to around the limit of 32 (D18) or beyond it, or an array around the
  // element limit of 10,000 (rarely: large inputs slow every execution; the 100,000-deep
  // shape of issue 13 is a regression input instead).
  void deep(size_t depth) {
    static const size_t levels[] = {30, 31, 32, 33, 34, 40, 64, 300};
    if (depth == 1 && in_.pick(64) == 0) {
      static const std::string zeros = [] {
        std::string list = "0";
        for (int i = 1; i < 10010; ++i) list += ",0";
        return list;
      }();
      const size_t elements = 9990 + in_.pick(20);
      out_ += '[';
      out_.append(zeros, 0, 2 * elements - 1);
      out_ += ']';
      return;
    }
    const size_t total = in_.pick(levels);
    const size_t open = total > depth ? total - depth : 1;
    out_.append(open, '[');
    out_ += in_.pick(numbers);
    out_.append(open, ']');
  }

  decisions& in_;
  std::string out_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  decisions in(data, size);
  const std::string frame = frame_builder(in).frame();
  kwm::fuzz::exercise_rtm_frame(frame);
  return 0;
}
