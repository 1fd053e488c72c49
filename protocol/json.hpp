#pragma once
// JSON output helpers shared by every serializer: compact output, and the sorted-key
// rendering the spec requires for free-form objects (pong, chat `extra`; spec §0.3, D12).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <string>
#include <string_view>

namespace kwm::protocol {

// RapidJSON's writer, except that a non-finite double (which it would leave out, making
// the output invalid JSON) is written as null. The hardened reader never produces one
// (D18); this keeps any other source from breaking D19.
class json_writer : public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  using Writer::Writer;
  bool Double(double value) {
    return std::isfinite(value) ? Writer::Double(value) : Writer::Null();
  }
};

// Writes `value`; objects at every depth get their keys sorted ascending by byte value.
// When a key repeats, the last occurrence wins (as in the original's map decoding).
void write_sorted(json_writer& out, const rapidjson::Value& value);

inline void write_string(json_writer& out, std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

inline void write_key(json_writer& out, std::string_view key) {
  out.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

inline void write_field(json_writer& out, std::string_view key, std::string_view value) {
  write_key(out, key);
  write_string(out, value);
}

// Writes compact JSON text that was produced by this program or validated by the parser.
inline void write_raw(json_writer& out, std::string_view json, rapidjson::Type type) {
  out.RawValue(json.data(), json.size(), type);
}

// A parsed string value whole: it may hold NUL characters (from "\u0000"), so never read it
// through GetString() alone, which stops at the first one.
template <class Value>
std::string_view string_view_of(const Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

inline std::string take_string(rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Replaces every byte sequence that is not valid UTF-8 by U+FFFD, so that text taken
// from HTTP forms can always be written as a JSON string.
std::string to_valid_utf8(std::string_view text);

}  // namespace kwm::protocol
