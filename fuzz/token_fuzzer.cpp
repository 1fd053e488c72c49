// libFuzzer target: Authorization values, admin tokens, JWS and admin API bodies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/admin_api.hpp"
#include "protocol/admin_token.hpp"
#include "protocol/jose.hpp"
#include "protocol/oidc_claims.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kwm::protocol;
  static const std::string key = "0123456789abcdef0123456789abcdef";
  static const std::vector<json_web_key> keys = {json_web_key::generate("EC", "default")};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto header = parse_authorization(text)) (void)verify_admin_token(header->value, key, 1795682598);
  (void)verify_admin_token(text, key, 1795682598);
  (void)parse_admin_token_object(text);
  (void)verify_jws(text, keys, {"ES256", "RS256"});
  oidc_policy policy;
  policy.issuer = "https://idp.example";
  (void)check_access_token_claims(text, policy, 1795682598, "1");
  return 0;
}
