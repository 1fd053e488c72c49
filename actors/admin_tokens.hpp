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
  // Unix seconds; replaceable in tests.
  std::function<int64_t()> now = nullptr;
};

struct admin_tokens_state {
  static inline const char* name = "admin_tokens";

  struct record {
    protocol::admin_token_object token;
    caf::actor_clock::time_point last_seen;
  };
  std::map<std::string, record> records;           // "admin-<type>-<sub>", sorted for listing
  std::unordered_map<std::string, int64_t> revoked;  // sub → time of the last DELETE
  admin_token_settings settings;

  int64_t now() const;
  bool is_revoked(const std::string& sub, int64_t issued_at) const;
};

using admin_tokens_impl = admin_tokens_actor::stateful_base<admin_tokens_state>;

admin_tokens_actor spawn_admin_tokens(caf::actor_system& system, admin_token_settings settings);

}  // namespace kwm::actors
