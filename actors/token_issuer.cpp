#include "actors/token_issuer.hpp"

#include <caf/actor_system.hpp>

#include <algorithm>

namespace kwm::actors {
namespace {

using self_pointer = token_issuer_actor::stateful_pointer<token_issuer_state>;
using stored_key = token_issuer_state::stored_key;

stored_key store(std::string_view key) {
  stored_key stored{};
  std::copy_n(key.begin(), std::min(key.size(), stored.size()), stored.begin());
  return stored;
}

using key_iterator = decltype(token_issuer_state::keys)::iterator;

// Moves a client's entry in by_pending to its new count (erased at 0, with the client).
void recount(token_issuer_state& st, const std::string& client, std::size_t pending,
             std::size_t updated) {
  if (pending != 0) st.by_pending.erase({pending, client});
  if (updated != 0) st.by_pending.emplace(updated, client);
}

// Removes a key that was used, expired or taken back, and its place in its client's share.
void forget(token_issuer_state& st, key_iterator it) {
  if (auto owner = st.clients.find(it->second.client); owner != st.clients.end()) {
    auto& share = owner->second;
    recount(st, owner->first, share.pending, share.pending - 1);
    if (--share.pending == 0) st.clients.erase(owner);
  }
  st.keys.erase(it);
}

// Drops every key issued more than key_lifetime ago.
void drop_expired(token_issuer_state& st, caf::actor_clock::time_point now) {
  auto& order = st.issue_order;
  while (!order.empty() && now - order.front().first > st.settings.key_lifetime) {
    const auto& [issued_at, key] = order.front();
    // A redeemed key is gone already.
    if (auto it = st.keys.find(key); it != st.keys.end() && it->second.issued_at == issued_at)
      forget(st, it);
    order.pop_front();
  }
  if (order.empty()) order.shrink_to_fit();
}

std::size_t pending_of(const token_issuer_state& st, const std::string& client) {
  auto it = st.clients.find(client);
  return it == st.clients.end() ? 0 : it->second.pending;
}

bool server_at_cap(const token_issuer_state& st) {
  return st.settings.max_pending != 0 && st.keys.size() >= st.settings.max_pending;
}

bool client_at_cap(const token_issuer_state& st, const std::string& client) {
  return st.settings.max_pending_per_client != 0 &&
         pending_of(st, client) >= st.settings.max_pending_per_client;
}

// At the total cap: a client that would still hold fewer keys than the largest holder takes
// that holder's oldest outstanding key, so that no number of clients short of the cap can
// lock the others out. False when the requester is among the largest holders itself.
bool take_from_largest(token_issuer_state& st, const std::string& client) {
  if (st.by_pending.empty()) return false;
  const auto& [largest, holder] = *st.by_pending.rbegin();
  if (pending_of(st, client) + 1 >= largest) return false;
  auto& oldest = st.clients.at(holder).keys;
  while (!oldest.empty()) {
    const auto [issued_at, key] = oldest.front();
    oldest.pop_front();
    if (auto it = st.keys.find(key); it != st.keys.end() && it->second.issued_at == issued_at) {
      forget(st, it);
      return true;
    }
  }
  return false;
}

token_issuer_actor::behavior_type token_issuer(self_pointer self, token_issuer_settings settings) {
  self->state.settings = settings;
  self->delayed_send(self, settings.sweep_interval, sweep_atom::value);
  return {
      [=](issue_atom, protocol::auth_record& auth, std::string& client) -> issued_key {
        auto& st = self->state;
        const auto now = self->clock().now();
        // The sweep runs once a second: at a cap, keys expired since then must not count.
        if (server_at_cap(st) || client_at_cap(st, client)) drop_expired(st, now);
        if (client_at_cap(st, client)) return {{}, true};
        if (server_at_cap(st) && !take_from_largest(st, client)) return {};
        std::string key = protocol::generate_connect_key();
        while (st.keys.count(store(key)) != 0) key = protocol::generate_connect_key();
        auto& share = st.clients[client];
        recount(st, client, share.pending, share.pending + 1);
        ++share.pending;
        // Used keys stay listed until met; whatever is older than a lifetime is used or
        // expired, so a client that always holds one key does not grow its list for ever.
        while (!share.keys.empty() && now - share.keys.front().first > st.settings.key_lifetime)
          share.keys.pop_front();
        share.keys.emplace_back(now, store(key));
        st.keys.emplace(store(key),
                        token_issuer_state::key_entry{std::move(auth), now, std::move(client)});
        st.issue_order.emplace_back(now, store(key));
        return {std::move(key)};
      },
      [=](redeem_atom, const std::string& key) -> redeemed_key {
        auto& keys = self->state.keys;
        if (key.size() != protocol::connect_key_length) return {};
        auto it = keys.find(store(key));
        if (it == keys.end()) return {};
        const auto age = self->clock().now() - it->second.issued_at;
        redeemed_key result;
        result.found = age <= self->state.settings.key_lifetime;
        if (result.found) result.auth = std::move(it->second.auth);
        forget(self->state, it);
        return result;
      },
      [=](sweep_atom) {
        drop_expired(self->state, self->clock().now());
        self->delayed_send(self, self->state.settings.sweep_interval, sweep_atom::value);
      },
  };
}

}  // namespace

token_issuer_actor spawn_token_issuer(caf::actor_system& system, token_issuer_settings settings) {
  return system.spawn(token_issuer, settings);
}

}  // namespace kwm::actors
