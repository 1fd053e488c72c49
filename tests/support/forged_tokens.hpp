#pragma once
// Admin Token JWTs that D2 says must be rejected, shared by the unit tests of the verifier
// and the end-to-end bad-input sweep.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kwm::test {

// A token with any header and claims, signed HS256 with `signing_key`.
std::string forge_token(std::string_view header, std::string_view claims, std::string_view signing_key);

// One token per D2 rule (alg none, other algorithms, kid, wrong key, no or bad signature,
// expired, no exp, nbf ahead, bad claim types, malformed segments) for subject `sub`,
// relative to `now`; `key` is the server's key, used where only one rule may be broken.
std::vector<std::string> tokens_breaking_d2(std::string_view key, const std::string& sub, int64_t now);

}  // namespace kwm::test
