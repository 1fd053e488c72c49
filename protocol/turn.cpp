#include "protocol/turn.hpp"

#include <rapidjson/document.h>

#include "protocol/base64.hpp"
#include "protocol/crypto.hpp"
#include "protocol/json.hpp"
#include "protocol/json_reader.hpp"

namespace kwm::protocol {

turn_credentials shared_secret_credentials(std::string_view secret, std::string_view user,
                                           const std::vector<std::string>& uris, int64_t now, int64_t ttl) {
  turn_credentials credentials;
  credentials.username = std::to_string(now + ttl) + ":" + std::string(user);
  credentials.password = base64_encode(hmac(digest::sha1, secret, credentials.username), base64_alphabet::standard);
  credentials.ttl = ttl;
  credentials.uris = uris;
  return credentials;
}

std::optional<turn_credentials> parse_turn_service_response(std::string_view body) {
  rapidjson::Document doc;
  if (read_json(body, doc).IsError() || !doc.IsObject()) return std::nullopt;
  turn_credentials credentials;
  auto text = [&](const char* key) {
    auto it = doc.FindMember(key);
    return it != doc.MemberEnd() && it->value.IsString() ? std::string(string_view_of(it->value)) : std::string();
  };
  credentials.username = text("username");
  credentials.password = text("password");
  if (auto ttl = doc.FindMember("ttl"); ttl != doc.MemberEnd() && ttl->value.IsInt64())
    credentials.ttl = ttl->value.GetInt64();
  if (credentials.ttl < 60) credentials.ttl = 60;
  if (auto uris = doc.FindMember("uris"); uris != doc.MemberEnd() && uris->value.IsArray())
    for (const auto& uri : uris->value.GetArray())
      if (uri.IsString()) credentials.uris.emplace_back(string_view_of(uri));
  if (credentials.username.empty() || credentials.uris.empty()) return std::nullopt;
  return credentials;
}

std::string turn_service_user_header(std::string_view user) {
  return base64_encode(sha256(user), base64_alphabet::url_safe);
}

}  // namespace kwm::protocol
