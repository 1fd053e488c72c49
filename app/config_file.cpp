#include "app/config_file.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "protocol/chats_rules.hpp"

namespace kwm::app {
namespace {

std::string unquote(std::string value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
    return value.substr(1, value.size() - 2);
  return value;
}

// The wrapper wrote yes/no; CLI11 reads true/false.
std::string normalised(const std::string& value) {
  if (value == "yes") return "true";
  if (value == "no") return "false";
  return value;
}

bool is_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

std::optional<std::string> parse_config_text(const std::string& text, config_entries& out) {
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    line = protocol::trim_space(line);
    if (line.empty() || line.front() == '#') continue;
    const auto equals = line.find('=');
    const auto key = equals == std::string::npos ? std::string() : protocol::trim_space(line.substr(0, equals));
    if (!is_key(key)) return "line " + std::to_string(number) + ": expected key=value";
    out.emplace_back(key, unquote(protocol::trim_space(line.substr(equals + 1))));
  }
  return std::nullopt;
}

std::string config_key_environment_name(const std::string& key) {
  static const std::map<std::string, std::string> renamed = {
      {"oidc_issuer_identifier", "KWMSERVERD_ISS"},
      {"admin_tokens_secret_key", "KWMSERVERD_ADMIN_TOKENS_KEY"},
      {"turn_service_url", "KWMSERVERD_TURN_SERVER_SERVICE_URL"},
      {"turn_service_credentials", "KWMSERVERD_TURN_SERVER_SERVICE_CREDENTIALS"},
  };
  if (auto it = renamed.find(key); it != renamed.end()) return it->second;
  std::string name = "KWMSERVERD_";
  for (char c : key) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::optional<std::string> export_config_file(const std::string& path, const std::set<std::string>& known) {
  std::ifstream in(path);
  if (!in) return "failed to read config file " + path;
  std::ostringstream text;
  text << in.rdbuf();
  config_entries entries;
  if (auto error = parse_config_text(text.str(), entries)) return "config file " + path + ", " + *error;
  // The original's wrapper: OIDC_ISSUER_IDENTIFIER in the environment beats the file.
  if (const char* issuer = std::getenv("OIDC_ISSUER_IDENTIFIER")) ::setenv("KWMSERVERD_ISS", issuer, 0);
  for (const auto& [key, value] : entries) {
    const auto name = config_key_environment_name(key);
    if (known.count(name) == 0) return "config file " + path + ": unknown key '" + key + "'";
    if (!value.empty()) ::setenv(name.c_str(), normalised(value).c_str(), 0);
  }
  for (const auto& [name, file] : {std::pair{"KWMSERVERD_ADMIN_TOKENS_KEY", "/etc/kopano/kwmserverd-admin-tokens-secret.key"},
                                   std::pair{"KWMSERVERD_REGISTRATION_CONF", "/etc/kopano/kwmserverd-registration.yaml"}})
    if (std::filesystem::exists(file)) ::setenv(name, file, 0);
  return std::nullopt;
}

}  // namespace kwm::app
