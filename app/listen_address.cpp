#include "app/listen_address.hpp"

#include <charconv>
#include <string_view>

namespace kwm::app {

std::optional<listen_address> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  listen_address result;
  result.host = text.substr(0, colon);
  if (result.host.size() >= 2 && result.host.front() == '[' && result.host.back() == ']')
    result.host = result.host.substr(1, result.host.size() - 2);
  if (result.host.empty()) result.host = "0.0.0.0";
  const auto digits = std::string_view(text).substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() || port > 65535)
    return std::nullopt;
  result.port = static_cast<uint16_t>(port);
  return result;
}

}  // namespace kwm::app
