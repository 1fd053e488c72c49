#include "actors/channel_registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <optional>

#include "protocol/random.hpp"
#include "protocol/webrtc_rules.hpp"

namespace kwm::actors {
namespace {

using self_pointer = channel_registry_actor::stateful_pointer<channel_registry_state>;

void forget(channel_registry_state& st, const caf::actor_addr& channel) {
  const auto id = st.ledger.remove(channel);
  if (!id) return;
  auto& metrics = *st.settings.metrics;
  server_metrics::bump(metrics.channels_cleanedup_total);
  if (protocol::is_group_channel_id(*id)) server_metrics::add(metrics.group_channels_current, -1);
  st.channels.erase(*id);
}

// Every channel `empty_lifetime` old gets one `sweep`: it goes if nobody ever joined it (its
// joiner went away on the way). One timer here instead of one per channel: a delayed message
// holds its receiver, so a per-channel timer kept every removed channel in memory for its
// lifetime (N7).
void sweep_old_channels(self_pointer self) {
  auto& st = self->state;
  for (const auto& id : st.ledger.take_due(self->clock().now() - st.settings.empty_lifetime))
    if (auto channel = st.channels.find(id); channel != st.channels.end())
      self->send(channel->second, sweep_atom::value);
  self->delayed_send(self, sweep_period(st.settings), sweep_atom::value);
}

channel_registry_actor::behavior_type channel_registry(self_pointer self, user_directory_actor directory,
                                                       channel_settings settings) {
  self->state.directory = std::move(directory);
  self->state.settings = settings;
  self->delayed_send(self, sweep_period(settings), sweep_atom::value);
  // A channel that ends without retiring (it should not) is forgotten all the same.
  self->set_down_handler([=](caf::down_msg& down) { forget(self->state, down.source); });
  auto spawn_new = [=](std::string id, std::string group, std::string creator,
                       std::optional<connection_ref> first) {
    auto& st = self->state;
    auto actor = spawn_channel(self->system(), id, std::move(group), std::move(first), st.directory,
                               caf::actor_cast<channel_registry_actor>(self), st.settings);
    self->monitor(actor);
    server_metrics::bump(st.settings.metrics->channels_created_total);
    if (protocol::is_group_channel_id(id))
      server_metrics::add(st.settings.metrics->group_channels_current, +1);
    st.ledger.add(actor.address(), id, std::move(creator), self->clock().now());
    st.channels.emplace(std::move(id), actor);
    return actor;
  };
  return {
      [=](create_atom, connection_ref& caller) -> created_channel {
        auto& channels = self->state.channels;
        if (!self->state.ledger.may_create(self->state.settings, caller.user_id))
          return created_channel{};
        std::string id;
        do {
          id = "*" + protocol::random_string(protocol::call_channel_id_bytes);
        } while (channels.count(id) != 0);
        // The caller is the first member before anyone can learn the id.
        auto creator = caller.user_id;
        auto actor = spawn_new(id, {}, std::move(creator), std::move(caller));
        return created_channel{std::move(id), std::move(actor)};
      },
      [=](group_atom, const std::string& group, const std::string& user) -> channel_actor {
        auto& channels = self->state.channels;
        std::string id = protocol::group_channel_id(group);
        if (auto it = channels.find(id); it != channels.end()) return it->second;
        if (!self->state.ledger.may_create(self->state.settings, user)) return {};
        return spawn_new(std::move(id), group, user, std::nullopt);
      },
      [=](lookup_atom, const std::string& id) -> channel_actor {
        auto& channels = self->state.channels;
        auto it = channels.find(id);
        return it == channels.end() ? channel_actor{} : it->second;
      },
      [=](sweep_atom) { sweep_old_channels(self); },
      [=](retire_atom, const std::string&, const channel_actor& channel) {
        self->demonitor(channel.address());
        forget(self->state, channel.address());
      },
      [=](shutdown_atom) {
        for (auto& entry : self->state.channels)
          caf::anon_send_exit(entry.second, caf::exit_reason::user_shutdown);
        self->quit(caf::exit_reason::user_shutdown);
      },
  };
}

}  // namespace

channel_registry_actor spawn_channel_registry(caf::actor_system& system, user_directory_actor directory,
                                              channel_settings settings) {
  return system.spawn(channel_registry, std::move(directory), settings);
}

}  // namespace kwm::actors
