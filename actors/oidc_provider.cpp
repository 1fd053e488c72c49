#include "actors/oidc_provider.hpp"

#include "actors/event_log.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <rapidjson/document.h>

#include "protocol/chats_output.hpp"
#include "protocol/json.hpp"
#include "protocol/json_reader.hpp"

namespace kwm::actors {
namespace {

using self_pointer = oidc_provider_actor::stateful_pointer<oidc_provider_state>;

void fetch_into(self_pointer self, const std::string& url, bool discovery) {
  net::fetch_options options;
  options.insecure = self->state.settings.insecure;
  auto me = caf::actor_cast<oidc_provider_actor>(self);
  self->state.settings.fetch(url, std::move(options), [me, discovery](net::fetch_result result) {
    const bool ok = result.ok && result.status == 200;
    std::string payload = ok ? std::move(result.body)
                             : (result.ok ? "status " + std::to_string(result.status) : result.error);
    if (discovery)
      caf::anon_send(me, discovery_atom::value, ok, std::move(payload));
    else
      caf::anon_send(me, keys_atom::value, ok, std::move(payload));
  });
}

void retry_later(self_pointer self, const std::string& what, const std::string& error) {
  log::warn("OIDC provider " + what, {{"issuer", self->state.settings.policy.issuer}, {"error", error}});
  self->state.refreshing = false;
  self->delayed_send(self, self->state.settings.retry_interval, refresh_atom::value);
}

bearer_verdict verify(self_pointer self, const std::string& access_token, const std::string& id_token,
                      const std::string& auth_mode) {
  auto& st = self->state;
  bearer_verdict verdict;
  if (!st.ready) {
    verdict.error = protocol::oidc_error::not_initialized;
    return verdict;
  }
  const auto checked = protocol::verify_jws(access_token, st.keys, st.algorithms);
  if (checked.failure) {
    switch (*checked.failure) {
      case protocol::jws_failure::unknown_key:
        verdict.error = protocol::oidc_error::unknown_key;
        break;
      case protocol::jws_failure::bad_signature:
        verdict.error = protocol::oidc_error::bad_signature;
        break;
      default:
        verdict.error = protocol::oidc_error::malformed;
    }
    return verdict;
  }
  auto claims = protocol::check_access_token_claims(checked.payload, st.settings.policy,
                                                    protocol::unix_seconds_now(), auth_mode);
  if (!claims.identity) {
    verdict.error = std::move(claims.error);
    return verdict;
  }
  verdict.identity = std::move(*claims.identity);
  if (!id_token.empty()) {
    // Only for the display name; its expiry does not matter (spec §5.3).
    const auto id_checked = protocol::verify_jws(id_token, st.keys, st.algorithms);
    if (!id_checked.failure)
      if (auto name = protocol::id_token_name(id_checked.payload, verdict.identity,
                                              protocol::raw_subject(checked.payload)))
        verdict.display_name = std::move(*name);
  }
  verdict.valid = true;
  return verdict;
}

oidc_provider_actor::behavior_type oidc_provider(self_pointer self, oidc_settings settings) {
  self->state.settings = std::move(settings);
  self->send(self, refresh_atom::value);
  return {
      [=](verify_atom, const std::string& access_token, const std::string& id_token,
          const std::string& auth_mode) -> bearer_verdict {
        return verify(self, access_token, id_token, auth_mode);
      },
      [=](refresh_atom) {
        auto& st = self->state;
        if (st.refreshing) return;
        st.refreshing = true;
        fetch_into(self, st.settings.policy.issuer + "/.well-known/openid-configuration", true);
      },
      [=](discovery_atom, bool ok, const std::string& body) {
        auto& st = self->state;
        if (!ok) return retry_later(self, "discovery failed", body);
        rapidjson::Document doc;
        if (protocol::read_json(body, doc).IsError() || !doc.IsObject() ||
            !doc.HasMember("jwks_uri") || !doc["jwks_uri"].IsString())
          return retry_later(self, "discovery failed", "no jwks_uri in the discovery document");
        st.jwks_uri = std::string(protocol::string_view_of(doc["jwks_uri"]));
        st.algorithms.clear();
        if (auto algs = doc.FindMember("id_token_signing_alg_values_supported");
            algs != doc.MemberEnd() && algs->value.IsArray())
          for (const auto& alg : algs->value.GetArray())
            if (alg.IsString() && protocol::string_view_of(alg) != "none")
              st.algorithms.emplace_back(protocol::string_view_of(alg));
        fetch_into(self, st.jwks_uri, false);
      },
      [=](keys_atom, bool ok, const std::string& body) {
        auto& st = self->state;
        if (!ok) return retry_later(self, "key set fetch failed", body);
        auto keys = protocol::parse_jwks(body);
        if (keys.empty()) return retry_later(self, "key set fetch failed", "no usable keys");
        if (!st.ready)
          log::info("OIDC provider ready", {{"issuer", st.settings.policy.issuer}, {"keys", std::to_string(keys.size())}});
        st.keys = std::move(keys);
        st.ready = true;
        st.refreshing = false;
        self->delayed_send(self, st.settings.refresh_interval, refresh_atom::value);
      },
  };
}

}  // namespace

oidc_provider_actor spawn_oidc_provider(caf::actor_system& system, oidc_settings settings) {
  return system.spawn(oidc_provider, std::move(settings));
}

}  // namespace kwm::actors
