#pragma once
// The token issuer: connect keys and the auth they carry from connect to WebSocket open.
#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <string>
#include <unordered_map>

#include "actors/actors.hpp"

namespace kwm::actors {

struct token_issuer_settings {
  std::chrono::milliseconds key_lifetime{30'000};  // strict (D5)
  std::chrono::seconds sweep_interval{60};  // expired keys are dropped at least this often
};

struct token_issuer_state {
  static inline const char* name = "token_issuer";

  struct key_entry {
    protocol::auth_record auth;
    caf::actor_clock::time_point issued_at;
  };
  std::unordered_map<std::string, key_entry> keys;
  token_issuer_settings settings;
};

using token_issuer_impl = token_issuer_actor::stateful_base<token_issuer_state>;

token_issuer_actor spawn_token_issuer(caf::actor_system& system, token_issuer_settings settings = {});

}  // namespace kwm::actors
