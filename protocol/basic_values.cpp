#include "protocol/basic_values.hpp"

#include "protocol/crypto.hpp"

namespace kwm::protocol {

basic_values basic_values::parse(std::string_view content) {
  basic_values result;
  while (!content.empty()) {
    const auto end = content.find('\n');
    auto line = content.substr(0, end);
    content = end == std::string_view::npos ? std::string_view{} : content.substr(end + 1);
    const auto first = line.find_first_not_of(" \t\r\v\f");
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r\v\f") - first + 1);
    if (line.front() == '#') continue;
    result.values_.emplace_back(line);
  }
  return result;
}

bool basic_values::allows(std::string_view value) const {
  bool found = false;
  for (const auto& allowed : values_)
    if (!value.empty() && constant_time_equal(allowed, value)) found = true;
  return found;
}

}  // namespace kwm::protocol
