#pragma once
// The admin token store: signs tokens with the server key, keeps the records the admin
// API lists (60 s after their last refresh), and the revocations of D9.
#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

#include "actors/actors.hpp"

namespace kwm::actors {

struct admin_token_settings {
  std::string key;  // raw bytes of the key file, at least 32
  std::chrono::milliseconds record_idle{60'000};
  std::chrono::milliseconds sweep_interval{30'000};
  int64_t token_lifetime = protocol::admin_token_lifetime_seconds;
  // Unexpired revocations kept (--admin-max-revocations); a DELETE that would need one more
  // is refused. Each costs about 100 bytes whatever the subject's length.
  std::size_t max_revocations = 100000;
  // Unix seconds; replaceable in tests.
  std::function<int64_t()> now = nullptr;
};

struct admin_tokens_state {
  static inline const char* name = "admin_tokens";

  struct record {
    protocol::admin_token_object token;
    caf::actor_clock::time_point last_seen;
  };
  // A DELETE of a Token subject: tokens issued at or before `at` are rejected. It is kept
  // until `until`, the latest `exp` of a token it covers (a token of ours expires at most one
  // token lifetime after `at`; a later `exp` seen on a covered token extends it), after which
  // every token it covers is rejected as expired anyway.
  struct revocation {
    int64_t at = 0;
    int64_t until = 0;
  };
  // Subjects are keyed by their SHA-256, so a revocation's size does not depend on them.
  using subject_digest = std::string;
  static subject_digest digest_of(std::string_view sub);

  std::map<std::string, record> records;  // "admin-<type>-<sub>", sorted for listing
  std::unordered_map<subject_digest, revocation> revoked;
  admin_token_settings settings;

  int64_t now() const;
  // True when `sub`'s tokens issued at `issued_at` are revoked; a covered token expiring at
  // `expires_at` keeps the revocation at least that long.
  bool is_revoked(const std::string& sub, int64_t issued_at, int64_t expires_at = 0);
  const revocation* revocation_of(const std::string& sub) const;
  void drop_expired_revocations();
};

using admin_tokens_impl = admin_tokens_actor::stateful_base<admin_tokens_state>;

admin_tokens_actor spawn_admin_tokens(caf::actor_system& system, admin_token_settings settings);

}  // namespace kwm::actors
