// The token issuer in cluster mode: keys live in Redis (PX 30000, redeemed by one atomic
// GET+DEL), so a key issued on one node is redeemable once on any node (spec §2, D23).
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "actors/cluster_actors.hpp"
#include "actors/cluster_task.hpp"
#include "cluster/record_codec.hpp"
#include "protocol/connect_key.hpp"

namespace kwm::actors {
namespace {

struct cluster_issuer_state {
  static inline const char* name = "cluster_token_issuer";
  cluster_link_pointer link;
  token_issuer_settings settings;
  // This node's keys of the last lifetime, each with its client. Keys redeemed on any node
  // stay counted here until they would have expired: the node does not learn of it.
  struct issued_key_entry {
    caf::actor_clock::time_point at;
    std::string client;
    std::string key;
  };
  std::deque<issued_key_entry> issued;
  // Per client: its keys still counted, oldest first; and the clients by how many they hold,
  // for the take-back at the total (as on one node, D20).
  std::unordered_map<std::string, std::deque<std::string>> clients;
  std::set<std::pair<std::size_t, std::string>> by_count;
};

using self_pointer = cluster_token_issuer_actor::stateful_pointer<cluster_issuer_state>;

std::size_t count_of(const cluster_issuer_state& st, const std::string& client) {
  auto it = st.clients.find(client);
  return it == st.clients.end() ? 0 : it->second.size();
}

// Takes `client`'s oldest counted key off its share (expired, or taken back).
void uncount_oldest(cluster_issuer_state& st, const std::string& client) {
  auto it = st.clients.find(client);
  if (it == st.clients.end()) return;
  const auto count = it->second.size();
  st.by_count.erase({count, client});
  it->second.pop_front();
  if (count > 1)
    st.by_count.emplace(count - 1, client);
  else
    st.clients.erase(it);
}

void forget_expired(self_pointer self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  while (!st.issued.empty() && now - st.issued.front().at > st.settings.key_lifetime) {
    const auto& oldest = st.issued.front();
    // Unless taken back already, it is its client's oldest.
    if (auto it = st.clients.find(oldest.client);
        it != st.clients.end() && !it->second.empty() && it->second.front() == oldest.key)
      uncount_oldest(st, oldest.client);
    st.issued.pop_front();
  }
}

bool client_at_cap(const cluster_issuer_state& st, const std::string& client) {
  return st.settings.max_pending_per_client != 0 &&
         count_of(st, client) >= st.settings.max_pending_per_client;
}

// At this node's total: a client that would still hold fewer keys than the largest holder
// takes that holder's oldest key, deleted from Redis (if still there; fire and forget).
bool take_from_largest(self_pointer self, const std::string& client) {
  auto& st = self->state;
  if (st.by_count.empty()) return false;
  const auto [largest, holder] = *st.by_count.rbegin();
  if (count_of(st, client) + 1 >= largest) return false;
  const auto key = st.clients.at(holder).front();
  uncount_oldest(st, holder);
  st.link->node().connect_keys().redeem(key, ignore_result<std::optional<std::string>>());
  return true;
}

bool at_total(const cluster_issuer_state& st) {
  const auto cap = st.settings.max_pending;
  return cap != 0 && st.issued.size() >= cap;
}

// Stores the grant under a fresh key; a (vanishingly unlikely) collision draws another.
// (A key drawn again is not the one counted: taking it back would miss it, harmlessly.)
void store_key(self_pointer self, std::string key, std::string grant,
               caf::typed_response_promise<issued_key> promise, int attempts) {
  self->state.link->node().connect_keys().issue(
      key, grant,
      resume_in<cluster::done>(caf::actor_cast<cluster_token_issuer_actor>(self),
                               [=](const cluster::result<cluster::done>& stored) mutable {
                                 if (stored) return (void)promise.deliver(issued_key{key});
                                 if (stored.failed().kind == cluster::failure::rejected &&
                                     attempts > 1)
                                   return store_key(self, protocol::generate_connect_key(), grant,
                                                    promise, attempts - 1);
                                 promise.deliver(caf::make_error(caf::sec::request_receiver_down));
                               }));
}

cluster_token_issuer_actor::behavior_type cluster_token_issuer(self_pointer self,
                                                               cluster_link_pointer link,
                                                               token_issuer_settings settings) {
  self->state.link = std::move(link);
  self->state.settings = settings;
  return {
      [=](issue_atom, const protocol::auth_record& auth,
          std::string& client) -> caf::typed_response_promise<issued_key> {
        auto promise = self->make_response_promise<issued_key>();
        forget_expired(self);
        if (client_at_cap(self->state, client)) {
          promise.deliver(issued_key{{}, true});
          return promise;
        }
        if (at_total(self->state) && !take_from_largest(self, client)) {
          promise.deliver(issued_key{});
          return promise;
        }
        // Counted before Redis answers, so that requests in flight count too (a key that
        // could not be stored stays counted until it would have expired).
        auto key = protocol::generate_connect_key();
        auto& st = self->state;
        auto& mine = st.clients[client];
        if (!mine.empty()) st.by_count.erase({mine.size(), client});
        mine.push_back(key);
        st.by_count.emplace(mine.size(), client);
        st.issued.push_back({self->clock().now(), std::move(client), key});
        store_key(self, std::move(key), cluster::encode_auth_record(auth), promise, 3);
        return promise;
      },
      [=](redeem_atom, const std::string& key) -> caf::typed_response_promise<redeemed_key> {
        auto promise = self->make_response_promise<redeemed_key>();
        if (key.size() != protocol::connect_key_length) {
          promise.deliver(redeemed_key{});
          return promise;
        }
        self->state.link->node().connect_keys().redeem(
            key,
            resume_in<std::optional<std::string>>(
                caf::actor_cast<cluster_token_issuer_actor>(self),
                [=](const cluster::result<std::optional<std::string>>& grant) mutable {
                  if (!grant)
                    return (void)promise.deliver(caf::make_error(caf::sec::request_receiver_down));
                  redeemed_key result;
                  if (*grant)
                    if (auto auth = cluster::decode_auth_record(**grant)) {
                      result.found = true;
                      result.auth = std::move(*auth);
                    }
                  promise.deliver(std::move(result));
                }));
        return promise;
      },
      [=](sweep_atom) { forget_expired(self); },
      run_resumed(),
  };
}

}  // namespace

cluster_token_issuer_actor spawn_cluster_token_issuer(caf::actor_system& system,
                                                      cluster_link_pointer link,
                                                      token_issuer_settings settings) {
  return system.spawn(cluster_token_issuer, std::move(link), settings);
}

}  // namespace kwm::actors
