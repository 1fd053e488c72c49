#include "protocol/json.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kwm::protocol {
namespace {

bool key_less(const rapidjson::Value::ConstMemberIterator& a,
              const rapidjson::Value::ConstMemberIterator& b) {
  const auto an = a->name.GetStringLength();
  const auto bn = b->name.GetStringLength();
  const int c = std::memcmp(a->name.GetString(), b->name.GetString(), std::min(an, bn));
  return c != 0 ? c < 0 : an < bn;
}

bool key_equal(const rapidjson::Value::ConstMemberIterator& a,
               const rapidjson::Value::ConstMemberIterator& b) {
  return !key_less(a, b) && !key_less(b, a);
}

}  // namespace

void write_sorted(json_writer& out, const rapidjson::Value& value) {
  if (value.IsArray()) {
    out.StartArray();
    for (const auto& item : value.GetArray()) write_sorted(out, item);
    out.EndArray();
    return;
  }
  if (!value.IsObject()) {
    value.Accept(out);
    return;
  }
  std::vector<rapidjson::Value::ConstMemberIterator> members;
  members.reserve(value.MemberCount());
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) members.push_back(it);
  std::stable_sort(members.begin(), members.end(), key_less);
  out.StartObject();
  for (size_t i = 0; i < members.size(); ++i) {
    if (i + 1 < members.size() && key_equal(members[i], members[i + 1])) continue;
    out.Key(members[i]->name.GetString(), members[i]->name.GetStringLength());
    write_sorted(out, members[i]->value);
  }
  out.EndObject();
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    size_t len = 0;
    uint32_t min_code = 0;
    if (c < 0x80) {
      out += char(c);
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      min_code = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      min_code = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      min_code = 0x10000;
    }
    bool valid = len > 0 && i + len <= n;
    uint32_t code = valid ? (c & (0xFF >> (len + 1))) : 0;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) valid = false;
      code = code << 6 | (p[i + k] & 0x3F);
    }
    valid = valid && code >= min_code && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    if (valid) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace kwm::protocol
