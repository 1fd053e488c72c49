#pragma once
// Admin-issued `Token` JWTs (spec §5.2, D2): HS256 with the raw bytes of the server's key
// file, header {"alg":"HS256","kid":"","typ":"JWT"}, claims {"exp","iat","sub"}.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kwm::protocol {

inline constexpr int64_t admin_token_lifetime_seconds = 365 * 24 * 3600;
inline constexpr std::size_t admin_token_min_key_bytes = 32;

struct token_claims {
  std::string subject;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
};

std::string sign_admin_token(std::string_view key, const token_claims& claims);

// Rules 1–4 of spec §5.2: three base64url segments decoding to JSON objects, alg exactly
// HS256, kid absent or "", a valid HMAC-SHA256 signature (constant-time), a non-empty sub,
// an integer exp with now <= exp, nbf <= now when present, an integer iat when present.
// Revocation (rule 5) is the admin token store's business.
std::optional<token_claims> verify_admin_token(std::string_view token, std::string_view key, int64_t now);

// `Authorization: <Type> <value>`, split at the first space (spec §5.1).
struct authorization {
  std::string type;
  std::string value;
};
std::optional<authorization> parse_authorization(std::string_view header);

}  // namespace kwm::protocol
