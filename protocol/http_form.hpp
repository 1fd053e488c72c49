#pragma once
// application/x-www-form-urlencoded parameters with Go's ParseForm + Form.Get semantics
// (spec §1.3): body values before query values, the first occurrence of a name wins.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kwm::protocol {

class form_values {
 public:
  // Appends the pairs of one urlencoded text. Returns false on a malformed escape.
  bool parse(std::string_view encoded);
  // The first value of `name`, or "" when absent (Form.Get).
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// Decodes %XX escapes and '+' (as space); nullopt on a malformed escape. The result is
// made valid UTF-8 so that it can always be echoed in JSON.
std::optional<std::string> url_unescape(std::string_view text);

// Whether a request's Content-Type is application/x-www-form-urlencoded (parameters ignored).
bool is_form_content_type(std::string_view content_type);

}  // namespace kwm::protocol
