#pragma once
// TURN credentials (spec §6).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/identity.hpp"

namespace kwm::protocol {

inline constexpr int64_t turn_shared_secret_ttl = 3600;

// coturn's use-auth-secret scheme: username "<now + ttl>:<user>", password
// base64(HMAC-SHA1(secret, username)).
turn_credentials shared_secret_credentials(std::string_view secret, std::string_view user,
                                           const std::vector<std::string>& uris, int64_t now,
                                           int64_t ttl = turn_shared_secret_ttl);

// The external TURN credential service's JSON answer {username,password,ttl,uris}; nullopt
// for an unusable answer (empty username, no uris). A ttl under 60 s counts as 60 s.
std::optional<turn_credentials> parse_turn_service_response(std::string_view body);

// X-Kopano-KWM-User for the external TURN credential service: URL-safe base64 (padded)
// of SHA-256(user id).
std::string turn_service_user_header(std::string_view user);

}  // namespace kwm::protocol
