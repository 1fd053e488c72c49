#pragma once
// The authentication a connect call established; it belongs to exactly one connection
// for that connection's whole life (spec §5.1, D7).
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "protocol/identity.hpp"

namespace kwm::protocol {

enum class auth_kind : uint8_t { anonymous, token, basic, bearer };

struct auth_record {
  auth_kind kind = auth_kind::anonymous;
  std::string user_id;       // the RTM identity; empty only in anonymous mode
  std::string subject;       // the authenticated subject (differs from user_id only with --insecure-auth)
  std::string display_name;  // `name` claim of a Bearer id_token, otherwise ""
  std::string auth_mode;     // the connect call's `auth` form value (Bearer only)
  std::string credential;    // the Bearer token presented, validated again at WebSocket open
  int64_t expires_at = 0;    // unix seconds; 0 = does not expire
  int64_t issued_at = 0;     // unix seconds (Token `iat`)
  bool can_create_channels = true;
  std::optional<std::set<std::string>> group_restriction;  // guests only (spec §3.15)

  self_info self() const {
    return {user_id, display_name, auth_mode, kind != auth_kind::anonymous};
  }
};

}  // namespace kwm::protocol
