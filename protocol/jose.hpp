#pragma once
// JSON Web Keys and signatures (RS*, PS*, ES*) through Debian's libcjose: verification of
// OIDC tokens against a provider's JWKS, and signing of guest request objects.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct _cjose_jwk_int cjose_jwk_t;

namespace kwm::protocol {

class json_web_key {
 public:
  // One JWK (public or private) in JSON; nullopt when cjose cannot import it.
  static std::optional<json_web_key> parse(std::string_view json);
  // A fresh key for tests and tools: "RSA" (2048 bits) or "EC" (P-256).
  static json_web_key generate(std::string_view type, std::string kid);

  const std::string& kid() const { return kid_; }
  const std::string& use() const { return use_; }
  std::string to_json(bool with_private_part) const;
  // A compact JWS with header {"alg","kid","typ":"JWT"}; empty on failure.
  std::string sign(std::string_view alg, std::string_view payload) const;

  cjose_jwk_t* handle() const { return key_.get(); }

 private:
  std::shared_ptr<cjose_jwk_t> key_;
  std::string kid_;
  std::string use_;
};

// A JWKS document ({"keys":[…]}); keys cjose cannot import are skipped.
std::vector<json_web_key> parse_jwks(std::string_view json);

enum class jws_failure { malformed, unknown_key, bad_signature, algorithm_not_allowed };

struct jws_verification {
  std::optional<jws_failure> failure;
  std::string payload;  // the claims JSON when verified
};

// Verifies a compact JWS: the header's alg must be in `allowed_algorithms`; the key is
// the one with the header's kid (or the only key when the token names none).
jws_verification verify_jws(std::string_view token, const std::vector<json_web_key>& keys,
                            const std::vector<std::string>& allowed_algorithms);

}  // namespace kwm::protocol
