// libFuzzer target: the hardened reader (D18) and the writers (D19) against each other.
// For any input the reader accepts: the compact and the sorted-key output are valid UTF-8
// JSON, no number is inf or NaN, and reading the compact output again gives the same DOM
// (same types, bit-identical doubles, same bytes, same member order). The output check and
// the reader must agree: text the check accepts, the reader accepts too (without limits).
#include <rapidjson/document.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "protocol/json.hpp"
#include "protocol/json_check.hpp"
#include "protocol/json_reader.hpp"

namespace {

using value = rapidjson::Value;

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "json round trip: %s (input of %zu bytes)\n", what, text.size());
  std::abort();
}

unsigned number_kind(const value& v) {
  return (v.IsInt() ? 1 : 0) | (v.IsUint() ? 2 : 0) | (v.IsInt64() ? 4 : 0) |
         (v.IsUint64() ? 8 : 0) | (v.IsDouble() ? 16 : 0);
}

// Strict equality; the reader's depth limit bounds the recursion.
bool same(const value& a, const value& b) {
  if (a.GetType() != b.GetType()) return false;
  switch (a.GetType()) {
    case rapidjson::kNumberType:
      if (number_kind(a) != number_kind(b)) return false;
      if (a.IsDouble()) {
        const double x = a.GetDouble();
        const double y = b.GetDouble();
        return std::isfinite(x) && std::memcmp(&x, &y, sizeof x) == 0;
      }
      return a.IsUint64() ? a.GetUint64() == b.GetUint64() : a.GetInt64() == b.GetInt64();
    case rapidjson::kStringType:
      return a.GetStringLength() == b.GetStringLength() &&
             std::memcmp(a.GetString(), b.GetString(), a.GetStringLength()) == 0;
    case rapidjson::kArrayType:
      if (a.Size() != b.Size()) return false;
      for (rapidjson::SizeType i = 0; i < a.Size(); ++i)
        if (!same(a[i], b[i])) return false;
      return true;
    case rapidjson::kObjectType: {
      if (a.MemberCount() != b.MemberCount()) return false;
      for (auto x = a.MemberBegin(), y = b.MemberBegin(); x != a.MemberEnd(); ++x, ++y)
        if (!same(x->name, y->name) || !same(x->value, y->value)) return false;
      return true;
    }
    default:
      return a == b;
  }
}

std::string compact(const value& v) {
  rapidjson::StringBuffer buffer;
  kwm::protocol::json_writer out(buffer);
  if (!v.Accept(out)) return {};
  return kwm::protocol::take_string(buffer);
}

std::string sorted(const value& v) {
  rapidjson::StringBuffer buffer;
  kwm::protocol::json_writer out(buffer);
  kwm::protocol::write_sorted(out, v);
  return kwm::protocol::take_string(buffer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kwm::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (is_valid_json_text(text)) {
    json_limits unlimited;
    unlimited.max_depth = std::numeric_limits<std::size_t>::max();
    unlimited.max_elements = 0;
    if (!is_acceptable_json(text, unlimited))
      fail("the output check accepts what the reader refuses", text);
  }
  rapidjson::Document first;
  if (read_json(text, first).IsError()) return 0;
  const std::string out = compact(first);
  if (!is_valid_json_text(out)) fail("compact output is not valid JSON", text);
  if (!is_valid_json_text(sorted(first))) fail("sorted output is not valid JSON", text);
  rapidjson::Document second;
  if (read_json(out, second).IsError()) fail("the reader refuses its own output", text);
  if (!same(first, second)) fail("reading the output again gives another DOM", text);
  if (compact(second) != out) fail("the output is not stable", text);
  return 0;
}
