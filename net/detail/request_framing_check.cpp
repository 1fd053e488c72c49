#include "net/detail/request_framing_check.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>

namespace kwm::net {
namespace {

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trimmed(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool has_unambiguous_framing(const request_head_view& head) {
  std::size_t hosts = 0, transfer_encodings = 0;
  std::string_view length;
  bool has_length = false;
  for (const auto& [name, raw_value] : head.fields) {
    const auto value = trimmed(raw_value);
    if (same_text(name, "host")) {
      ++hosts;
    } else if (same_text(name, "transfer-encoding")) {
      // Only `chunked`, alone and once: any other coding, a list, or a repetition is a
      // message whose end a proxy may find elsewhere (§3.3.3 item 3).
      if (++transfer_encodings > 1 || !same_text(value, "chunked")) return false;
    } else if (same_text(name, "content-length")) {
      // Plain digits (no lists), and every repetition the same value (§3.3.2), as Go does.
      if (!all_digits(value) || (has_length && value != length)) return false;
      length = value;
      has_length = true;
    }
  }
  if (transfer_encodings != 0 && (has_length || head.version < 11)) return false;
  return head.version >= 11 ? hosts == 1 : hosts <= 1;
}

expectation expectation_of(const request_head_view& head) {
  // An HTTP/1.0 client cannot wait for 100 Continue: its expectation is ignored (RFC 7231
  // §5.1.1). Anything else than one `100-continue` cannot be met: 417.
  if (head.version < 11) return expectation::none;
  auto result = expectation::none;
  for (const auto& [name, value] : head.fields) {
    if (!same_text(name, "expect")) continue;
    if (result != expectation::none || !same_text(trimmed(value), "100-continue"))
      return expectation::unsupported;
    result = expectation::continue_100;
  }
  return result;
}

std::string_view origin_form_of(std::string_view target) {
  std::size_t scheme_end = 0;
  for (const std::string_view scheme : {"http://", "https://"})
    if (target.size() >= scheme.size() && same_text(target.substr(0, scheme.size()), scheme))
      scheme_end = scheme.size();
  if (scheme_end == 0) return target;
  const auto path = target.find_first_of("/?", scheme_end);
  if (path == std::string_view::npos || target[path] == '?') return "/";
  return target.substr(path);
}

}  // namespace kwm::net
