#include "protocol/jose.hpp"

#include <cjose/cjose.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdlib>

#include "protocol/base64.hpp"
#include "protocol/json.hpp"
#include "protocol/json_reader.hpp"

namespace kwm::protocol {
namespace {

struct jws_release {
  void operator()(cjose_jws_t* jws) const { cjose_jws_release(jws); }
};
using jws_ptr = std::unique_ptr<cjose_jws_t, jws_release>;

std::string string_member(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString() ? std::string(string_view_of(it->value)) : std::string();
}

}  // namespace

std::optional<json_web_key> json_web_key::parse(std::string_view json) {
  // jansson (inside cjose) only sees what the hardened reader accepted (D18).
  rapidjson::Document doc;
  if (read_json(json, doc).IsError() || !doc.IsObject()) return std::nullopt;
  cjose_err error;
  cjose_jwk_t* raw = cjose_jwk_import(json.data(), json.size(), &error);
  if (raw == nullptr) return std::nullopt;
  json_web_key key;
  key.key_ = std::shared_ptr<cjose_jwk_t>(raw, [](cjose_jwk_t* k) { cjose_jwk_release(k); });
  key.kid_ = string_member(doc, "kid");
  key.use_ = string_member(doc, "use");
  return key;
}

json_web_key json_web_key::generate(std::string_view type, std::string kid) {
  cjose_err error;
  static const uint8_t exponent[] = {0x01, 0x00, 0x01};
  cjose_jwk_t* raw = type == "EC" ? cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &error)
                                  : cjose_jwk_create_RSA_random(2048, exponent, sizeof exponent, &error);
  if (raw == nullptr) std::abort();
  cjose_jwk_set_kid(raw, kid.data(), kid.size(), &error);
  json_web_key key;
  key.key_ = std::shared_ptr<cjose_jwk_t>(raw, [](cjose_jwk_t* k) { cjose_jwk_release(k); });
  key.kid_ = std::move(kid);
  key.use_ = "sig";
  return key;
}

std::string json_web_key::to_json(bool with_private_part) const {
  cjose_err error;
  char* json = cjose_jwk_to_json(key_.get(), with_private_part, &error);
  if (json == nullptr) return {};
  std::string out(json);
  std::free(json);
  return out;
}

std::string json_web_key::sign(std::string_view alg, std::string_view payload) const {
  cjose_err error;
  cjose_header_t* header = cjose_header_new(&error);
  if (header == nullptr) return {};
  const std::string algorithm(alg);
  cjose_header_set(header, CJOSE_HDR_ALG, algorithm.c_str(), &error);
  cjose_header_set(header, CJOSE_HDR_KID, kid_.c_str(), &error);
  cjose_header_set(header, "typ", "JWT", &error);
  jws_ptr jws(cjose_jws_sign(key_.get(), header, reinterpret_cast<const uint8_t*>(payload.data()),
                             payload.size(), &error));
  cjose_header_release(header);
  if (!jws) return {};
  const char* compact = nullptr;
  if (!cjose_jws_export(jws.get(), &compact, &error) || compact == nullptr) return {};
  return compact;
}

std::vector<json_web_key> parse_jwks(std::string_view json) {
  std::vector<json_web_key> keys;
  rapidjson::Document doc;
  if (read_json(json, doc).IsError() || !doc.IsObject()) return keys;
  auto list = doc.FindMember("keys");
  if (list == doc.MemberEnd() || !list->value.IsArray()) return keys;
  for (const auto& entry : list->value.GetArray()) {
    if (!entry.IsObject()) continue;
    rapidjson::StringBuffer buffer;
    json_writer writer(buffer);
    entry.Accept(writer);
    if (auto key = json_web_key::parse(std::string_view(buffer.GetString(), buffer.GetSize())))
      keys.push_back(std::move(*key));
  }
  return keys;
}

// cjose asserts (aborts the process) on some malformed input, so only well-formed compact
// serialisations reach it: three unpadded base64url segments, the first two decodable, the
// header one JSON object the hardened reader accepts (jansson parses it inside cjose).
bool is_well_formed_compact_jws(std::string_view token) {
  std::size_t dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
      continue;
    }
    const bool url_safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!url_safe) return false;
  }
  if (dots != 2) return false;
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  if (first == 0 || second == first + 1) return false;
  const auto header = base64_decode(token.substr(0, first), base64_alphabet::url_safe);
  if (!header ||
      !base64_decode(token.substr(first + 1, second - first - 1), base64_alphabet::url_safe) ||
      !base64_decode(token.substr(second + 1), base64_alphabet::url_safe))
    return false;
  rapidjson::Document doc;
  return !read_json(*header, doc).IsError() && doc.IsObject();
}

jws_verification verify_jws(std::string_view token, const std::vector<json_web_key>& keys,
                            const std::vector<std::string>& allowed_algorithms) {
  jws_verification result;
  if (!is_well_formed_compact_jws(token)) {
    result.failure = jws_failure::malformed;
    return result;
  }
  cjose_err error;
  jws_ptr jws(cjose_jws_import(token.data(), token.size(), &error));
  if (!jws) {
    result.failure = jws_failure::malformed;
    return result;
  }
  cjose_header_t* header = cjose_jws_get_protected(jws.get());
  const char* alg = header != nullptr ? cjose_header_get(header, CJOSE_HDR_ALG, &error) : nullptr;
  if (alg == nullptr || std::find(allowed_algorithms.begin(), allowed_algorithms.end(), alg) ==
                            allowed_algorithms.end()) {
    result.failure = jws_failure::algorithm_not_allowed;
    return result;
  }
  const char* kid = cjose_header_get(header, CJOSE_HDR_KID, &error);
  const json_web_key* key = nullptr;
  if (kid != nullptr) {
    for (const auto& candidate : keys)
      if (candidate.kid() == kid && candidate.use() != "enc") key = &candidate;
  } else if (keys.size() == 1) {
    key = &keys.front();
  }
  if (key == nullptr) {
    result.failure = jws_failure::unknown_key;
    return result;
  }
  if (!cjose_jws_verify(jws.get(), key->handle(), &error)) {
    result.failure = jws_failure::bad_signature;
    return result;
  }
  uint8_t* plaintext = nullptr;
  size_t length = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &plaintext, &length, &error)) {
    result.failure = jws_failure::malformed;
    return result;
  }
  result.payload.assign(reinterpret_cast<const char*>(plaintext), length);
  return result;
}

}  // namespace kwm::protocol
