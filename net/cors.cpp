#include "net/cors.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace kwm::net {
namespace {

constexpr std::array<std::string_view, 3> allowed_methods = {"GET", "POST", "HEAD"};

std::string upper_case(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_method_allowed(std::string_view method) {
  const auto upper = upper_case(method);
  if (upper == "OPTIONS") return true;
  return std::find(allowed_methods.begin(), allowed_methods.end(), upper) != allowed_methods.end();
}

std::vector<std::string> parse_header_list(std::string_view list) {
  std::vector<std::string> names;
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) names.push_back(canonical_header_name(item));
  }
  return names;
}

void add_vary(http_response& response, std::string_view value) {
  response.headers.emplace_back("Vary", std::string(value));
}

}  // namespace

cors_config cors_config::rtm() { return {true, {"Accept", "Content-Type", "Authorization", "Origin"}}; }

cors_config cors_config::defaults() { return {false, {"Origin", "Accept", "Content-Type", "X-Requested-With"}}; }

std::string canonical_header_name(std::string_view name) {
  std::string out(name);
  bool upper = true;
  for (auto& c : out) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return out;
}

cors_request_info cors_request_info::of(const http_request& request) {
  cors_request_info info;
  info.method = request.method;
  info.origin = std::string(request.header("origin"));
  info.requested_method = std::string(request.header("access-control-request-method"));
  info.requested_headers = std::string(request.header("access-control-request-headers"));
  info.is_preflight = request.method == "OPTIONS" && !info.requested_method.empty();
  return info;
}

void cors_preflight_headers(const cors_config& config, const cors_request_info& request, http_response& response) {
  add_vary(response, "Origin");
  add_vary(response, "Access-Control-Request-Method");
  add_vary(response, "Access-Control-Request-Headers");
  if (request.origin.empty() || !is_method_allowed(request.requested_method)) return;
  const auto headers = parse_header_list(request.requested_headers);
  for (const auto& name : headers)
    if (std::find(config.allowed_headers.begin(), config.allowed_headers.end(), name) ==
        config.allowed_headers.end())
      return;
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  response.headers.emplace_back("Access-Control-Allow-Methods", upper_case(request.requested_method));
  if (!headers.empty()) {
    std::string joined;
    for (const auto& name : headers) joined += (joined.empty() ? "" : ", ") + name;
    response.headers.emplace_back("Access-Control-Allow-Headers", joined);
  }
  if (config.allow_credentials) response.headers.emplace_back("Access-Control-Allow-Credentials", "true");
}

void cors_response_headers(const cors_config& config, const cors_request_info& request, http_response& response) {
  add_vary(response, "Origin");
  if (request.origin.empty() || !is_method_allowed(request.method)) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  if (config.allow_credentials) response.headers.emplace_back("Access-Control-Allow-Credentials", "true");
}

}  // namespace kwm::net
