#include "protocol/oidc_claims.hpp"

#include <rapidjson/document.h>

#include "protocol/json.hpp"
#include "protocol/json_reader.hpp"

namespace kwm::protocol {
namespace {

using value = rapidjson::Value;

const value* member(const value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string string_of(const value* v) {
  return v != nullptr && v->IsString() ? std::string(string_view_of(*v)) : std::string();
}

// NumericDate: any JSON number of seconds.
std::optional<double> number_of(const value* v) {
  if (v == nullptr || !v->IsNumber()) return std::nullopt;
  return v->GetDouble();
}

oidc_check failed(std::string_view error) { return {std::nullopt, std::string(error)}; }

}  // namespace

std::string raw_subject(std::string_view claims_json) {
  rapidjson::Document doc;
  if (read_json(claims_json, doc).IsError() || !doc.IsObject()) return {};
  return string_of(member(doc, "sub"));
}

oidc_check check_access_token_claims(std::string_view claims_json, const oidc_policy& policy, int64_t now,
                                     std::string_view auth_mode) {
  rapidjson::Document doc;
  if (read_json(claims_json, doc).IsError() || !doc.IsObject())
    return failed(oidc_error::malformed);
  const auto exp = number_of(member(doc, "exp"));
  if (!exp || *exp < now) return failed(oidc_error::expired);
  if (auto nbf = number_of(member(doc, "nbf")); nbf && *nbf > now) return failed(oidc_error::expired);
  if (auto iat = number_of(member(doc, "iat")); iat && *iat > now + 60) return failed(oidc_error::expired);
  oidc_identity identity;
  identity.issuer = string_of(member(doc, "iss"));
  if (identity.issuer != policy.issuer) return failed(oidc_error::validation_failed);
  const value* is_access = member(doc, "kc.isAccessToken");
  if (is_access == nullptr || !is_access->IsBool() || !is_access->GetBool())
    return failed(oidc_error::not_an_access_token);

  if (!policy.required_scopes.empty()) {
    const value* scopes = member(doc, "kc.authorizedScopes");
    for (const auto& required : policy.required_scopes) {
      bool found = false;
      if (scopes != nullptr && scopes->IsArray())
        for (const auto& scope : scopes->GetArray())
          if (scope.IsString() && required == string_view_of(scope)) found = true;
      if (!found) return failed(oidc_error::missing_scope);
    }
  }

  const value* kc_identity = member(doc, "kc.identity");
  identity.subject = string_of(member(doc, "sub"));
  if (auto id = string_of(kc_identity != nullptr ? member(*kc_identity, "kc.i.id") : nullptr); !id.empty())
    identity.subject = id;
  if (auth_mode == "1") {
    if (auto un = string_of(kc_identity != nullptr ? member(*kc_identity, "kc.i.un") : nullptr); !un.empty())
      identity.subject = un;
  } else if (!auth_mode.empty() && auth_mode != "0") {
    return failed(oidc_error::validation_failed);
  }
  if (identity.subject.empty()) return failed(oidc_error::validation_failed);

  const value* guest = kc_identity != nullptr ? member(*kc_identity, "kc.i.guest") : nullptr;
  if (guest != nullptr && guest->IsBool() && guest->GetBool()) {
    if (!policy.guests_enabled) return failed(oidc_error::guests_disabled);
    identity.guest = true;
    identity.can_create_channels = policy.guests_may_create;
    identity.group_restriction.emplace();
    const value* claims = member(doc, "kc.authorizedClaims");
    const value* passthru = claims != nullptr ? member(*claims, "passthru") : nullptr;
    const value* kwm = passthru != nullptr ? member(*passthru, "kopano/kwm/guest") : nullptr;
    if (kwm != nullptr) {
      if (string_of(member(*kwm, "type")) != "1") return failed(oidc_error::validation_failed);
      if (auto path = string_of(member(*kwm, "path")); !path.empty()) identity.group_restriction->insert(path);
    }
  }
  return {std::move(identity), {}};
}

std::optional<std::string> id_token_name(std::string_view claims_json, const oidc_identity& access,
                                         std::string_view access_sub) {
  rapidjson::Document doc;
  if (read_json(claims_json, doc).IsError() || !doc.IsObject()) return std::nullopt;
  if (string_of(member(doc, "sub")) != access_sub || string_of(member(doc, "iss")) != access.issuer)
    return std::nullopt;
  return string_of(member(doc, "name"));
}

}  // namespace kwm::protocol
