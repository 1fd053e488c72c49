#include "actors/admin_tokens.hpp"

#include <caf/actor_system.hpp>

#include <algorithm>

#include "protocol/admin_api.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/crypto.hpp"
#include "protocol/random.hpp"

namespace kwm::actors {

int64_t admin_tokens_state::now() const {
  return settings.now ? settings.now() : protocol::unix_seconds_now();
}

admin_tokens_state::subject_digest admin_tokens_state::digest_of(std::string_view sub) {
  return protocol::sha256(sub);
}

const admin_tokens_state::revocation* admin_tokens_state::revocation_of(const std::string& sub) const {
  const auto it = revoked.find(digest_of(sub));
  return it == revoked.end() ? nullptr : &it->second;
}

bool admin_tokens_state::is_revoked(const std::string& sub, int64_t issued_at, int64_t expires_at) {
  const auto it = revoked.find(digest_of(sub));
  if (it == revoked.end() || it->second.at < issued_at) return false;
  it->second.until = std::max(it->second.until, expires_at);
  return true;
}

void admin_tokens_state::drop_expired_revocations() {
  const int64_t current = now();
  for (auto it = revoked.begin(); it != revoked.end();)
    it = it->second.until < current ? revoked.erase(it) : std::next(it);
}

namespace {

using self_pointer = admin_tokens_actor::stateful_pointer<admin_tokens_state>;

std::string record_key(std::string_view type, std::string_view sub) {
  return "admin-" + std::string(type) + "-" + std::string(sub);
}

// The record for `key`, created unless the store already holds as many records as a list
// can show (5000): more would only be memory, never seen (N4).
admin_tokens_state::record* record_for(admin_tokens_state& st, std::string key) {
  auto it = st.records.find(key);
  if (it != st.records.end()) return &it->second;
  if (st.records.size() >= protocol::admin_list_limit) return nullptr;
  return &st.records[std::move(key)];
}

void touch(self_pointer self, const std::string& type, const std::string& sub, int64_t exp) {
  auto* found = record_for(self->state, record_key(type, sub));
  if (found == nullptr) return;
  auto& entry = *found;
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
        if (const auto* revocation = st.revocation_of(token.sub); revocation && revocation->at >= now)
          issued_at = revocation->at + 1;
        token.exp = now + st.settings.token_lifetime;
        token.value = protocol::sign_admin_token(st.settings.key, {token.sub, issued_at, token.exp});
        if (auto* entry = record_for(st, record_key(token.type, token.sub)))
          *entry = {token, self->clock().now()};
        return token;
      },
      [=](list_atom, const std::string& after, uint64_t listed, uint64_t page_bytes) -> admin_list_page {
        const auto& records = self->state.records;
        admin_list_page page;
        page.listed = listed;
        if (listed == 0) page.text = "[";
        auto it = after.empty() ? records.begin() : records.upper_bound(after);
        for (; it != records.end() && page.listed < protocol::admin_list_limit; ++it) {
          if (page.text.size() >= page_bytes) {
            page.after = std::prev(it)->first;
            return page;
          }
          if (page.listed++ != 0) page.text += ',';
          protocol::append_admin_token(page.text, it->second.token);
        }
        page.text += "]\n";
        return page;
      },
      [=](delete_atom, const std::string& type, const std::string& sub) -> revocation_outcome {
        auto& st = self->state;
        if (type == "Token") {
          const int64_t now = st.now();
          auto digest = admin_tokens_state::digest_of(sub);
          auto it = st.revoked.find(digest);
          if (it == st.revoked.end()) {
            if (st.settings.max_revocations != 0 && st.revoked.size() >= st.settings.max_revocations)
              st.drop_expired_revocations();
            if (st.settings.max_revocations != 0 && st.revoked.size() >= st.settings.max_revocations)
              return revocation_outcome::store_full;
            it = st.revoked.emplace(std::move(digest), admin_tokens_state::revocation{}).first;
          }
          auto& revocation = it->second;
          revocation.at = now;
          revocation.until = std::max(revocation.until, now + st.settings.token_lifetime);
          if (const auto record = st.records.find(record_key(type, sub)); record != st.records.end())
            revocation.until = std::max(revocation.until, record->second.token.exp);
        }
        return st.records.erase(record_key(type, sub)) > 0 ? revocation_outcome::removed
                                                            : revocation_outcome::no_record;
      },
      [=](verify_atom, const std::string& token) -> token_verdict {
        auto& st = self->state;
        auto claims = protocol::verify_admin_token(token, st.settings.key, st.now());
        if (!claims || st.is_revoked(claims->subject, claims->issued_at, claims->expires_at)) return {};
        touch(self, "Token", claims->subject, claims->expires_at);
        return {true, std::move(*claims), {}};
      },
      [=](recheck_atom, const std::string& sub, int64_t issued_at, int64_t expires_at) -> bool {
        auto& st = self->state;
        if (st.now() > expires_at || st.is_revoked(sub, issued_at, expires_at)) return false;
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
        st.drop_expired_revocations();
        self->delayed_send(self, st.settings.sweep_interval, sweep_atom::value);
      },
  };
}

}  // namespace

admin_tokens_actor spawn_admin_tokens(caf::actor_system& system, admin_token_settings settings) {
  return system.spawn(admin_tokens, std::move(settings));
}

}  // namespace kwm::actors
