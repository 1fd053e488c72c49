#include "actors/admin_tokens.hpp"

#include <caf/actor_system.hpp>

#include "protocol/chats_output.hpp"
#include "protocol/random.hpp"

namespace kwm::actors {

int64_t admin_tokens_state::now() const {
  return settings.now ? settings.now() : protocol::unix_seconds_now();
}

bool admin_tokens_state::is_revoked(const std::string& sub, int64_t issued_at) const {
  auto it = revoked.find(sub);
  return it != revoked.end() && it->second >= issued_at;
}

namespace {

using self_pointer = admin_tokens_actor::stateful_pointer<admin_tokens_state>;

std::string record_key(std::string_view type, std::string_view sub) {
  return "admin-" + std::string(type) + "-" + std::string(sub);
}

void touch(self_pointer self, const std::string& type, const std::string& sub, int64_t exp) {
  auto& entry = self->state.records[record_key(type, sub)];
  if (entry.token.type.empty()) {
    entry.token.type = type;
    entry.token.sub = sub;
  }
  if (exp != 0) entry.token.exp = exp;
  entry.last_seen = self->clock().now();
}

admin_tokens_actor::behavior_type admin_tokens(self_pointer self, admin_token_settings settings) {
  self->state.settings = std::move(settings);
  self->delayed_send(self, self->state.settings.sweep_interval, sweep_atom::value);
  return {
      [=](issue_atom, protocol::admin_token_object& request) -> protocol::admin_token_object {
        auto& st = self->state;
        protocol::admin_token_object token = std::move(request);
        if (token.sub.empty()) token.sub = protocol::random_string(protocol::token_subject_bytes);
        const int64_t now = st.now();
        int64_t issued_at = now;
        // A token made in the second of a DELETE must not fall under that revocation.
        if (auto it = st.revoked.find(token.sub); it != st.revoked.end() && it->second >= now)
          issued_at = it->second + 1;
        token.exp = now + st.settings.token_lifetime;
        token.value = protocol::sign_admin_token(st.settings.key, {token.sub, issued_at, token.exp});
        st.records[record_key(token.type, token.sub)] = {token, self->clock().now()};
        return token;
      },
      [=](list_atom) -> std::vector<protocol::admin_token_object> {
        std::vector<protocol::admin_token_object> list;
        for (const auto& [key, entry] : self->state.records) {
          if (list.size() == protocol::admin_list_limit) break;
          list.push_back(entry.token);
        }
        return list;
      },
      [=](delete_atom, const std::string& type, const std::string& sub) -> bool {
        auto& st = self->state;
        if (type == "Token") st.revoked[sub] = st.now();
        return st.records.erase(record_key(type, sub)) > 0;
      },
      [=](verify_atom, const std::string& token) -> token_verdict {
        auto& st = self->state;
        auto claims = protocol::verify_admin_token(token, st.settings.key, st.now());
        if (!claims || st.is_revoked(claims->subject, claims->issued_at)) return {};
        touch(self, "Token", claims->subject, claims->expires_at);
        return {true, std::move(*claims), {}};
      },
      [=](recheck_atom, const std::string& sub, int64_t issued_at, int64_t expires_at) -> bool {
        auto& st = self->state;
        if (st.now() > expires_at || st.is_revoked(sub, issued_at)) return false;
        touch(self, "Token", sub, expires_at);
        return true;
      },
      [=](touch_atom, const std::string& type, const std::string& sub, int64_t issued_at, int64_t exp) {
        if (type == "Token" && self->state.is_revoked(sub, issued_at)) return;
        touch(self, type, sub, exp);
      },
      [=](renew_atom, const std::string& sub, int64_t issued_at) -> token_verdict {
        auto& st = self->state;
        if (st.is_revoked(sub, issued_at)) return {};
        const int64_t now = st.now();
        token_verdict renewed{true, {sub, now, now + st.settings.token_lifetime}, {}};
        renewed.token = protocol::sign_admin_token(st.settings.key, renewed.claims);
        return renewed;
      },
      [=](sweep_atom) {
        auto& st = self->state;
        const auto idle_since = self->clock().now() - st.settings.record_idle;
        for (auto it = st.records.begin(); it != st.records.end();)
          it = it->second.last_seen < idle_since ? st.records.erase(it) : std::next(it);
        const int64_t now = st.now();
        for (auto it = st.revoked.begin(); it != st.revoked.end();)
          it = it->second + st.settings.token_lifetime < now ? st.revoked.erase(it) : std::next(it);
        self->delayed_send(self, st.settings.sweep_interval, sweep_atom::value);
      },
  };
}

}  // namespace

admin_tokens_actor spawn_admin_tokens(caf::actor_system& system, admin_token_settings settings) {
  return system.spawn(admin_tokens, std::move(settings));
}

}  // namespace kwm::actors
