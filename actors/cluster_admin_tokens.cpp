// The admin token store in cluster mode (spec §1.6, §5.2, D9, D23): signatures and expiry
// are checked here, records and revocations live in Redis (cluster/admin_token_store.hpp),
// so a token issued on one node is listed on all and a DELETE on one node revokes on all
// at once. Every check that could meet a revocation reads Redis: no cache can lag.
#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/admin_tokens.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/cluster_task.hpp"
#include "cluster/record_codec.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/random.hpp"

namespace kwm::actors {
namespace {

struct cluster_admin_state {
  static inline const char* name = "cluster_admin_tokens";
  cluster_link_pointer link;
  admin_token_settings settings;
  int64_t now() const { return settings.now ? settings.now() : protocol::unix_seconds_now(); }
};

using self_pointer = cluster_admin_tokens_actor::stateful_pointer<cluster_admin_state>;

cluster_admin_tokens_actor handle_of(self_pointer self) {
  return caf::actor_cast<cluster_admin_tokens_actor>(self);
}
cluster::admin_token_store& store(self_pointer self) {
  return self->state.link->node().admin_tokens();
}
caf::error unavailable() {
  return caf::make_error(caf::sec::request_receiver_down);
}

std::string record_id(std::string_view type, std::string_view sub) {
  return "admin-" + std::string(type) + "-" + std::string(sub);
}

// The record a refresh creates when it is missing (a token issued before the record expired).
cluster::admin_record bare_record(const std::string& type, const std::string& sub, int64_t exp) {
  protocol::admin_token_object token;
  token.type = type;
  token.sub = sub;
  return {record_id(type, sub), cluster::encode_admin_token(token), exp};
}

// Refreshes the record unless the token is revoked; `then` gets whether it is not.
void touch(self_pointer self, const std::string& type, const std::string& sub, int64_t issued_at,
           int64_t exp, std::function<void(const cluster::result<bool>&)> then) {
  store(self).touch(bare_record(type, sub, exp), type == "Token" ? sub : std::string(), issued_at,
                    resume_in<bool>(handle_of(self), std::move(then)));
}

cluster_admin_tokens_actor::behavior_type cluster_admin_tokens(self_pointer self,
                                                               cluster_link_pointer link,
                                                               admin_token_settings settings) {
  self->state.link = std::move(link);
  self->state.settings = std::move(settings);
  return {
      [=](issue_atom, protocol::admin_token_object& request)
          -> caf::typed_response_promise<protocol::admin_token_object> {
        auto promise = self->make_response_promise<protocol::admin_token_object>();
        auto token = std::move(request);
        if (token.sub.empty()) token.sub = protocol::random_string(protocol::token_subject_bytes);
        store(self).revoked_at(
            token.sub,
            resume_in<std::optional<int64_t>>(
                handle_of(self),
                [=](const cluster::result<std::optional<int64_t>>& revoked) mutable {
                  if (!revoked) return (void)promise.deliver(unavailable());
                  auto& st = self->state;
                  const int64_t now = st.now();
                  // A token made in the second of a DELETE must not fall under that revocation.
                  const int64_t issued_at = *revoked && **revoked >= now ? **revoked + 1 : now;
                  token.exp = now + st.settings.token_lifetime;
                  token.value = protocol::sign_admin_token(st.settings.key,
                                                           {token.sub, issued_at, token.exp});
                  store(self).put(
                      {record_id(token.type, token.sub), cluster::encode_admin_token(token),
                       token.exp},
                      resume_in<cluster::done>(
                          handle_of(self), [=](const cluster::result<cluster::done>& put) mutable {
                            if (!put) return (void)promise.deliver(unavailable());
                            promise.deliver(token);
                          }));
                }));
        return promise;
      },
      // Pages as on a single node (admin_tokens.cpp): the records in id order after `after`.
      // Each page reads the (at most admin_list_limit) records again; lists are rare.
      [=](list_atom, const std::string& after, uint64_t listed,
          uint64_t page_bytes) -> caf::typed_response_promise<admin_list_page> {
        auto promise = self->make_response_promise<admin_list_page>();
        store(self).list(
            protocol::admin_list_limit,
            resume_in<std::vector<cluster::admin_record>>(
                handle_of(self),
                [=](const cluster::result<std::vector<cluster::admin_record>>& records) mutable {
                  if (!records) return (void)promise.deliver(unavailable());
                  auto sorted = *records;
                  std::sort(sorted.begin(), sorted.end(),
                            [](const auto& a, const auto& b) { return a.id < b.id; });
                  admin_list_page page;
                  page.listed = listed;
                  if (listed == 0) page.text = "[";
                  for (const auto& record : sorted) {
                    if (!after.empty() && record.id <= after) continue;
                    if (page.listed >= protocol::admin_list_limit) break;
                    auto token = cluster::decode_admin_token(record.body, record.exp);
                    if (!token) continue;
                    if (page.text.size() >= page_bytes) return (void)promise.deliver(std::move(page));
                    if (page.listed++ != 0) page.text += ',';
                    protocol::append_admin_token(page.text, *token);
                    page.after = record.id;
                  }
                  page.text += "]\n";
                  page.after.clear();
                  promise.deliver(std::move(page));
                }));
        return promise;
      },
      [=](delete_atom, const std::string& type,
          const std::string& sub) -> caf::typed_response_promise<revocation_outcome> {
        auto promise = self->make_response_promise<revocation_outcome>();
        auto remove = [=]() mutable {
          store(self).remove(
              record_id(type, sub),
              resume_in<bool>(handle_of(self), [=](const cluster::result<bool>& removed) mutable {
                if (!removed) return (void)promise.deliver(unavailable());
                promise.deliver(*removed ? revocation_outcome::removed : revocation_outcome::no_record);
              }));
        };
        if (type != "Token") {
          remove();
          return promise;
        }
        const auto& settings = self->state.settings;
        store(self).revoke(
            sub, self->state.now(), std::chrono::seconds(settings.token_lifetime),
            settings.max_revocations,
            resume_in<int64_t>(handle_of(self),
                               [=](const cluster::result<int64_t>& revoked) mutable {
                                 if (revoked) return remove();
                                 if (revoked.failed().kind == cluster::failure::rejected &&
                                     revoked.failed().detail == cluster::revocations_full)
                                   return (void)promise.deliver(revocation_outcome::store_full);
                                 promise.deliver(unavailable());
                               }));
        return promise;
      },
      [=](verify_atom, const std::string& presented) -> caf::typed_response_promise<token_verdict> {
        auto promise = self->make_response_promise<token_verdict>();
        auto claims =
            protocol::verify_admin_token(presented, self->state.settings.key, self->state.now());
        if (!claims) {
          promise.deliver(token_verdict{});
          return promise;
        }
        touch(self, "Token", claims->subject, claims->issued_at, claims->expires_at,
              [=, claims = *claims](const cluster::result<bool>& fresh) mutable {
                if (!fresh) return (void)promise.deliver(unavailable());
                promise.deliver(*fresh ? token_verdict{true, claims, {}} : token_verdict{});
              });
        return promise;
      },
      [=](recheck_atom, const std::string& sub, int64_t issued_at,
          int64_t expires_at) -> caf::typed_response_promise<bool> {
        auto promise = self->make_response_promise<bool>();
        if (self->state.now() > expires_at) {
          promise.deliver(false);
          return promise;
        }
        touch(self, "Token", sub, issued_at, expires_at,
              [=](const cluster::result<bool>& fresh) mutable {
                if (!fresh) return (void)promise.deliver(unavailable());
                promise.deliver(*fresh);
              });
        return promise;
      },
      [=](touch_atom, const std::string& type, const std::string& sub, int64_t issued_at,
          int64_t exp) {
        touch(self, type, sub, issued_at, exp, [](const cluster::result<bool>&) {});
      },
      [=](renew_atom, const std::string& sub,
          int64_t issued_at) -> caf::typed_response_promise<token_verdict> {
        auto promise = self->make_response_promise<token_verdict>();
        store(self).revoked_at(
            sub,
            resume_in<std::optional<int64_t>>(
                handle_of(self),
                [=](const cluster::result<std::optional<int64_t>>& revoked) mutable {
                  if (!revoked) return (void)promise.deliver(unavailable());
                  if (*revoked && **revoked >= issued_at)
                    return (void)promise.deliver(token_verdict{});
                  const auto& st = self->state;
                  const int64_t now = st.now();
                  token_verdict renewed{true, {sub, now, now + st.settings.token_lifetime}, {}};
                  renewed.token = protocol::sign_admin_token(st.settings.key, renewed.claims);
                  promise.deliver(std::move(renewed));
                }));
        return promise;
      },
      [](sweep_atom) {},  // Redis expires records and the store prunes revocations
      run_resumed(),
  };
}

}  // namespace

cluster_admin_tokens_actor spawn_cluster_admin_tokens(caf::actor_system& system,
                                                      cluster_link_pointer link,
                                                      admin_token_settings settings) {
  return system.spawn(cluster_admin_tokens, std::move(link), std::move(settings));
}

}  // namespace kwm::actors
