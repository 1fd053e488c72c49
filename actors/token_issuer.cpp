#include "actors/token_issuer.hpp"

#include <caf/actor_system.hpp>

#include "protocol/connect_key.hpp"

namespace kwm::actors {
namespace {

token_issuer_actor::behavior_type token_issuer(
    token_issuer_actor::stateful_pointer<token_issuer_state> self, token_issuer_settings settings) {
  self->state.settings = settings;
  self->delayed_send(self, settings.sweep_interval, sweep_atom::value);
  return {
      [=](issue_atom, protocol::auth_record& auth) -> std::string {
        auto& keys = self->state.keys;
        std::string key = protocol::generate_connect_key();
        while (keys.count(key) != 0) key = protocol::generate_connect_key();
        keys.emplace(key, token_issuer_state::key_entry{std::move(auth), self->clock().now()});
        return key;
      },
      [=](redeem_atom, const std::string& key) -> redeemed_key {
        auto& keys = self->state.keys;
        auto it = keys.find(key);
        if (it == keys.end()) return {};
        const auto age = self->clock().now() - it->second.issued_at;
        redeemed_key result;
        result.found = age <= self->state.settings.key_lifetime;
        if (result.found) result.auth = std::move(it->second.auth);
        keys.erase(it);
        return result;
      },
      [=](sweep_atom) {
        const auto now = self->clock().now();
        auto& keys = self->state.keys;
        for (auto it = keys.begin(); it != keys.end();) {
          if (now - it->second.issued_at > self->state.settings.key_lifetime)
            it = keys.erase(it);
          else
            ++it;
        }
        self->delayed_send(self, self->state.settings.sweep_interval, sweep_atom::value);
      },
  };
}

}  // namespace

token_issuer_actor spawn_token_issuer(caf::actor_system& system, token_issuer_settings settings) {
  return system.spawn(token_issuer, settings);
}

}  // namespace kwm::actors
