#include "support/forged_tokens.hpp"

#include "protocol/base64.hpp"
#include "protocol/crypto.hpp"

namespace kwm::test {
namespace {

std::string segment(std::string_view json) {
  return protocol::base64_encode(json, protocol::base64_alphabet::url_safe, protocol::base64_padding::without_padding);
}

}  // namespace

std::string forge_token(std::string_view header, std::string_view claims, std::string_view signing_key) {
  const std::string input = segment(header) + "." + segment(claims);
  return input + "." + segment(protocol::hmac(protocol::digest::sha256, signing_key, input));
}

std::vector<std::string> tokens_breaking_d2(std::string_view key, const std::string& sub, int64_t now) {
  const std::string hs256 = R"({"alg":"HS256","kid":"","typ":"JWT"})";
  const auto at = [](int64_t t) { return std::to_string(t); };
  const std::string subject = R"("sub":")" + sub + R"(")";
  const std::string claims = R"({"exp":)" + at(now + 3600) + R"(,"iat":)" + at(now) + "," + subject + "}";
  const std::string valid = forge_token(hs256, claims, key);
  return {
      segment(R"({"alg":"none","typ":"JWT"})") + "." + segment(claims) + ".",  // unsigned
      valid.substr(0, valid.rfind('.') + 1),                                      // signature removed
      valid.substr(0, valid.rfind('.')),                                          // two segments
      valid + "x",                                                                // signature altered
      forge_token(hs256, claims, "another-key-another-key-another-key"),          // wrong key
      forge_token(R"({"alg":"HS512","typ":"JWT"})", claims, key),                 // other algorithm
      forge_token(R"({"typ":"JWT"})", claims, key),                               // no alg
      forge_token(R"({"alg":"HS256","kid":"x"})", claims, key),                   // kid not ""
      forge_token(hs256, R"({"exp":)" + at(now - 1) + R"(,"iat":1,)" + subject + "}", key),  // expired
      forge_token(hs256, R"({"iat":)" + at(now) + "," + subject + "}", key),                 // no exp
      forge_token(hs256, R"({"exp":")" + at(now + 3600) + R"(",)" + subject + "}", key),     // exp a string
      forge_token(hs256, R"({"exp":)" + at(now + 3600) + R"(,"sub":""})", key),              // empty sub
      forge_token(hs256, R"({"exp":)" + at(now + 3600) + R"(,"nbf":)" + at(now + 600) + "," + subject + "}",
                  key),                                                                        // not yet valid
      forge_token(hs256, R"({"exp":)" + at(now + 3600) + R"(,"iat":"x",)" + subject + "}", key),  // iat a string
      forge_token(hs256, "[]", key),                                                            // claims not an object
      "abc", "a.b", "a.b.c.d", "!!!.???.***", "", "..",
  };
}

}  // namespace kwm::test
