#pragma once
// The token issuer: connect keys and the auth they carry from connect to WebSocket open.
#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <chrono>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "actors/actors.hpp"
#include "protocol/connect_key.hpp"

namespace kwm::actors {

struct token_issuer_settings {
  std::chrono::milliseconds key_lifetime{30'000};  // strict (D5)
  // Expired keys are gone within key_lifetime + sweep_interval (D20: 31 s).
  std::chrono::milliseconds sweep_interval{1'000};
  std::size_t max_pending = 100'000;  // outstanding keys (D20); 0 = unlimited
  // Outstanding keys of one client (an address, or an authenticated user), so that one
  // client cannot hold the whole budget and lock everyone else out; 0 = unlimited.
  std::size_t max_pending_per_client = 1'000;
};

struct token_issuer_state {
  static inline const char* name = "token_issuer";

  // Keys are stored inline (no heap string per key).
  using stored_key = std::array<char, protocol::connect_key_length>;
  struct stored_key_hash {
    std::size_t operator()(const stored_key& key) const noexcept {
      std::size_t hash;  // the key is random: its first bytes are a good hash
      std::memcpy(&hash, key.data(), sizeof hash);
      return hash;
    }
  };
  struct key_entry {
    protocol::auth_record auth;
    caf::actor_clock::time_point issued_at;
    std::string client;
  };
  std::unordered_map<stored_key, key_entry, stored_key_hash> keys;
  // Per client with outstanding keys: how many, and its keys in issue order (used and
  // expired ones are skipped when met). Clients without keys are not listed.
  struct client_share {
    std::size_t pending = 0;
    std::deque<std::pair<caf::actor_clock::time_point, stored_key>> keys;
  };
  std::unordered_map<std::string, client_share> clients;
  // (pending, client), so that the largest holder is found at once: at the total cap a
  // client holding fewer keys takes the largest holder's oldest key (fair share, D20).
  std::set<std::pair<std::size_t, std::string>> by_pending;
  // Every issued key in issue order, so that sweeping stops at the first unexpired one.
  // Redeemed keys stay here (without their record) until they would have expired.
  std::deque<std::pair<caf::actor_clock::time_point, stored_key>> issue_order;
  token_issuer_settings settings;
};

using token_issuer_impl = token_issuer_actor::stateful_base<token_issuer_state>;

token_issuer_actor spawn_token_issuer(caf::actor_system& system,
                                      token_issuer_settings settings = {});

}  // namespace kwm::actors
