#pragma once
// The Basic auth values file (spec §5.4, D16): one allowed header value per line;
// surrounding white space trimmed; blank lines and '#' comments ignored. Values are
// compared as the raw base64 text, not decoded.
#include <string>
#include <string_view>
#include <vector>

namespace kwm::protocol {

class basic_values {
 public:
  static basic_values parse(std::string_view file_content);
  // Constant time per candidate of the same length.
  bool allows(std::string_view value) const;
  std::size_t size() const { return values_.size(); }

 private:
  std::vector<std::string> values_;
};

}  // namespace kwm::protocol
