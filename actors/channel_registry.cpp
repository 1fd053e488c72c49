#include "actors/channel_registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <chrono>
#include <optional>

#include "protocol/random.hpp"
#include "protocol/webrtc_rules.hpp"

namespace kwm::actors {
namespace {

using self_pointer = channel_registry_actor::stateful_pointer<channel_registry_state>;

void forget(channel_registry_state& st, const caf::actor_addr& channel) {
  auto found = st.entries_by_address.find(channel);
  if (found == st.entries_by_address.end()) return;
  const auto& [id, creator, created] = found->second;
  auto& metrics = *st.settings.metrics;
  server_metrics::bump(metrics.channels_cleanedup_total);
  if (protocol::is_group_channel_id(id)) server_metrics::add(metrics.group_channels_current, -1);
  if (auto count = st.created_by_user.find(creator);
      count != st.created_by_user.end() && --count->second == 0)
    st.created_by_user.erase(count);
  if (created != st.unswept.end()) st.unswept.erase(created);
  st.channels.erase(id);
  st.entries_by_address.erase(found);
}

// How often the registry looks for channels that reached their lifetime.
caf::actor_clock::duration_type sweep_period(const channel_settings& settings) {
  const auto quarter =
      std::chrono::duration_cast<caf::actor_clock::duration_type>(settings.empty_lifetime) / 4;
  return std::clamp<caf::actor_clock::duration_type>(quarter, std::chrono::milliseconds(10),
                                                     std::chrono::seconds(1));
}

// Every channel `empty_lifetime` old gets one `sweep`: it goes if nobody ever joined it (its
// joiner went away on the way). One timer here instead of one per channel: a delayed message
// holds its receiver, so a per-channel timer kept every removed channel in memory for its
// lifetime (N7).
void sweep_old_channels(self_pointer self) {
  auto& st = self->state;
  const auto due = self->clock().now() - st.settings.empty_lifetime;
  while (!st.unswept.empty() && st.unswept.begin()->first <= due) {
    const auto node = st.unswept.extract(st.unswept.begin());
    const auto& id = node.value().second;
    auto channel = st.channels.find(id);
    if (channel == st.channels.end()) continue;
    st.entries_by_address.at(channel->second.address()).created = st.unswept.end();
    self->send(channel->second, sweep_atom::value);
  }
  self->delayed_send(self, sweep_period(st.settings), sweep_atom::value);
}

// Whether `creator` may make one more channel (N7; 0 = unlimited).
bool may_create(const channel_registry_state& st, const std::string& creator) {
  const auto& s = st.settings;
  if (s.max_channels != 0 && st.channels.size() >= s.max_channels) return false;
  if (s.max_channels_per_user == 0) return true;
  const auto count = st.created_by_user.find(creator);
  return count == st.created_by_user.end() || count->second < s.max_channels_per_user;
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
    ++st.created_by_user[creator];
    const auto created = st.unswept.emplace(self->clock().now(), id).first;
    st.entries_by_address.emplace(actor.address(),
                                  channel_registry_state::entry{id, std::move(creator), created});
    st.channels.emplace(std::move(id), actor);
    return actor;
  };
  return {
      [=](create_atom, connection_ref& caller) -> created_channel {
        auto& channels = self->state.channels;
        if (!may_create(self->state, caller.user_id)) return created_channel{};
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
        if (!may_create(self->state, user)) return {};
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
