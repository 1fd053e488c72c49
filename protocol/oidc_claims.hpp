#pragma once
// Claims of Kopano Konnect access tokens and ID tokens (spec §5.3, §5.5), checked after
// the signature. Error texts are libkcoidc's "<text> (:0x<code>)".
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kwm::protocol {

namespace oidc_error {
inline constexpr std::string_view not_initialized = "Not Initialized (:0x104)";
inline constexpr std::string_view malformed = "Malformed Token (:0x107)";
inline constexpr std::string_view expired = "Token Expired Or Not Valid Yet (:0x108)";
inline constexpr std::string_view unknown_key = "Unknown Token Key (:0x109)";
inline constexpr std::string_view bad_signature = "Invalid Token Signature (:0x10a)";
inline constexpr std::string_view validation_failed = "Token Validation Failed (:0x10b)";
inline constexpr std::string_view missing_scope = "Missing required scope (:0x10e)";
inline constexpr std::string_view not_an_access_token = "missing access token claim";
inline constexpr std::string_view guests_disabled = "guest access is not enabled";
}  // namespace oidc_error

struct oidc_policy {
  std::string issuer;
  std::vector<std::string> required_scopes;
  bool guests_enabled = false;          // --enable-guest-api
  bool guests_may_create = false;       // --allow-guest-only-channels
};

struct oidc_identity {
  std::string subject;
  std::string issuer;
  bool guest = false;
  std::optional<std::set<std::string>> group_restriction;
  bool can_create_channels = true;
};

struct oidc_check {
  std::optional<oidc_identity> identity;
  std::string error;  // when identity is empty
};

// `auth_mode` is the connect form's `auth`: "" or "0" = subject as is, "1" = kc.i.un.
oidc_check check_access_token_claims(std::string_view claims_json, const oidc_policy& policy, int64_t now,
                                     std::string_view auth_mode);

// The display name from a verified ID token whose `sub` and `iss` match the access
// token's (its expiry is ignored); nullopt when they do not match.
std::optional<std::string> id_token_name(std::string_view claims_json, const oidc_identity& access,
                                         std::string_view access_sub);

// The access token's raw `sub` claim (before kc.identity replaces it).
std::string raw_subject(std::string_view claims_json);

}  // namespace kwm::protocol
