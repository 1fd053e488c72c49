#include "protocol/admin_token.hpp"

#include <rapidjson/document.h>

#include "protocol/base64.hpp"
#include "protocol/crypto.hpp"
#include "protocol/json.hpp"
#include "protocol/json_reader.hpp"

namespace kwm::protocol {
namespace {

constexpr std::string_view header_segment_json = R"({"alg":"HS256","kid":"","typ":"JWT"})";

std::string segment(std::string_view bytes) {
  return base64_encode(bytes, base64_alphabet::url_safe, base64_padding::without_padding);
}

bool parse_object(std::string_view json, rapidjson::Document& doc) {
  return !read_json(json, doc).IsError() && doc.IsObject();
}

}  // namespace

std::string sign_admin_token(std::string_view key, const token_claims& claims) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_key(out, "exp");
  out.Int64(claims.expires_at);
  write_key(out, "iat");
  out.Int64(claims.issued_at);
  write_key(out, "sub");
  write_string(out, claims.subject);
  out.EndObject();
  std::string token = segment(header_segment_json) + "." + segment(take_string(buffer));
  const std::string signature = hmac(digest::sha256, key, token);
  token += "." + segment(signature);
  return token;
}

std::optional<token_claims> verify_admin_token(std::string_view token, std::string_view key, int64_t now) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return std::nullopt;
  const auto header = base64_decode(token.substr(0, first), base64_alphabet::url_safe);
  const auto payload = base64_decode(token.substr(first + 1, second - first - 1), base64_alphabet::url_safe);
  const auto signature = base64_decode(token.substr(second + 1), base64_alphabet::url_safe);
  if (!header || !payload || !signature || signature->empty()) return std::nullopt;

  rapidjson::Document header_doc;
  if (!parse_object(*header, header_doc)) return std::nullopt;
  const auto alg = header_doc.FindMember("alg");
  if (alg == header_doc.MemberEnd() || !alg->value.IsString() || string_view_of(alg->value) != "HS256")
    return std::nullopt;
  if (const auto kid = header_doc.FindMember("kid"); kid != header_doc.MemberEnd())
    if (!kid->value.IsString() || kid->value.GetStringLength() != 0) return std::nullopt;

  const std::string expected = hmac(digest::sha256, key, token.substr(0, second));
  if (!constant_time_equal(*signature, expected)) return std::nullopt;

  rapidjson::Document claims_doc;
  if (!parse_object(*payload, claims_doc)) return std::nullopt;
  token_claims claims;
  const auto sub = claims_doc.FindMember("sub");
  if (sub == claims_doc.MemberEnd() || !sub->value.IsString() || sub->value.GetStringLength() == 0)
    return std::nullopt;
  claims.subject = std::string(string_view_of(sub->value));
  const auto exp = claims_doc.FindMember("exp");
  if (exp == claims_doc.MemberEnd() || !exp->value.IsInt64()) return std::nullopt;
  claims.expires_at = exp->value.GetInt64();
  if (now > claims.expires_at) return std::nullopt;
  if (const auto nbf = claims_doc.FindMember("nbf"); nbf != claims_doc.MemberEnd())
    if (!nbf->value.IsInt64() || nbf->value.GetInt64() > now) return std::nullopt;
  if (const auto iat = claims_doc.FindMember("iat"); iat != claims_doc.MemberEnd()) {
    if (!iat->value.IsInt64()) return std::nullopt;
    claims.issued_at = iat->value.GetInt64();
  }
  return claims;
}

std::optional<authorization> parse_authorization(std::string_view header) {
  const auto space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  return authorization{std::string(header.substr(0, space)), std::string(header.substr(space + 1))};
}

}  // namespace kwm::protocol
