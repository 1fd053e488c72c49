#include "protocol/http_form.hpp"

#include <algorithm>
#include <cctype>

#include "protocol/json.hpp"

namespace kwm::protocol {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> url_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += char(hi << 4 | lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return to_valid_utf8(out);
}

bool form_values::parse(std::string_view encoded) {
  bool ok = true;
  while (!encoded.empty()) {
    const size_t amp = encoded.find('&');
    std::string_view pair = encoded.substr(0, amp);
    encoded = amp == std::string_view::npos ? std::string_view{} : encoded.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = url_unescape(pair.substr(0, eq));
    auto value = url_unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!name || !value) {
      // Go's ParseForm keeps going and reports the first error.
      ok = false;
      continue;
    }
    values_.emplace_back(std::move(*name), std::move(*value));
  }
  return ok;
}

std::string_view form_values::get(std::string_view name) const {
  for (const auto& [key, value] : values_)
    if (key == name) return value;
  return {};
}

bool form_values::has(std::string_view name) const {
  return std::any_of(values_.begin(), values_.end(), [&](const auto& kv) { return kv.first == name; });
}

bool is_form_content_type(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  auto media = content_type.substr(0, semicolon);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  constexpr std::string_view form = "application/x-www-form-urlencoded";
  return media.size() == form.size() &&
         std::equal(media.begin(), media.end(), form.begin(),
                    [](char a, char b) { return std::tolower((unsigned char)a) == b; });
}

}  // namespace kwm::protocol
