// The token issuer in cluster mode: keys live in Redis (PX 30000, redeemed by one atomic
// GET+DEL), so a key issued on one node is redeemable once on any node (spec §2, D23).
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <deque>
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
  // This node's keys of the last lifetime and their clients. Keys redeemed on any node stay
  // counted here until they would have expired: the node does not learn of the redemption.
  std::deque<std::pair<caf::actor_clock::time_point, std::string>> issued;
  std::unordered_map<std::string, std::size_t> issued_by_client;
};

using self_pointer = cluster_token_issuer_actor::stateful_pointer<cluster_issuer_state>;

void forget_expired(self_pointer self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  while (!st.issued.empty() && now - st.issued.front().first > st.settings.key_lifetime) {
    if (auto it = st.issued_by_client.find(st.issued.front().second);
        it != st.issued_by_client.end() && --it->second == 0)
      st.issued_by_client.erase(it);
    st.issued.pop_front();
  }
}

bool client_at_cap(const cluster_issuer_state& st, const std::string& client) {
  if (st.settings.max_pending_per_client == 0) return false;
  auto it = st.issued_by_client.find(client);
  return it != st.issued_by_client.end() && it->second >= st.settings.max_pending_per_client;
}

// Stores the grant under a fresh key; a (vanishingly unlikely) collision draws another.
void store_key(self_pointer self, std::string grant,
               caf::typed_response_promise<issued_key> promise, int attempts) {
  auto key = protocol::generate_connect_key();
  self->state.link->node().connect_keys().issue(
      key, grant,
      resume_in<cluster::done>(caf::actor_cast<cluster_token_issuer_actor>(self),
                               [=](const cluster::result<cluster::done>& stored) mutable {
                                 if (stored) return (void)promise.deliver(issued_key{key});
                                 if (stored.failed().kind == cluster::failure::rejected &&
                                     attempts > 1)
                                   return store_key(self, grant, promise, attempts - 1);
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
        // No fair share at the total here (the keys live in Redis): refused.
        const auto cap = self->state.settings.max_pending;
        if (cap != 0 && self->state.issued.size() >= cap) {
          promise.deliver(issued_key{});
          return promise;
        }
        // Counted before Redis answers, so that requests in flight count too (a key that
        // could not be stored stays counted until it would have expired).
        ++self->state.issued_by_client[client];
        self->state.issued.emplace_back(self->clock().now(), std::move(client));
        store_key(self, cluster::encode_auth_record(auth), promise, 3);
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
