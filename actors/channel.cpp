#include "actors/channel.hpp"

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>

#include "protocol/chats_output.hpp"

namespace kwm::actors {
namespace {

using self_pointer = channel_actor::stateful_pointer<channel_state>;

std::vector<std::string> member_ids(const channel_state& st) {
  std::vector<std::string> ids;
  ids.reserve(st.members.size());
  for (const auto& entry : st.members) ids.push_back(entry.first);
  return ids;
}

void send_to_others(const channel_state& st, const std::string& except_user, const net::frame& frame) {
  for (const auto& [user, member] : st.members)
    if (user != except_user) member.sink->send(frame);
}

// "X has joined/left the meeting." to every other member (spec §3.16, D15).
void announce(self_pointer self, const connection_ref& who, bool joined) {
  auto& st = self->state;
  if (st.members.size() <= (joined ? 1u : 0u)) return;
  const auto notice = protocol::membership_notice(who.user_id, who.display_name, joined,
                                                  protocol::unix_seconds_now());
  send_to_others(st, who.user_id,
                 net::make_frame(protocol::render_chats("chats_system", st.id, who.display_name, notice)));
}

void schedule_sweep(self_pointer self) {
  auto& st = self->state;
  const auto due = st.created_at + st.settings.empty_lifetime;
  const auto now = self->clock().now();
  self->delayed_send(self, due > now ? due - now : caf::actor_clock::duration_type::zero(),
                     sweep_atom::value);
}

void remove_member(self_pointer self, std::map<std::string, connection_ref>::iterator it) {
  auto& st = self->state;
  const connection_ref gone = std::move(it->second);
  st.members.erase(it);
  self->demonitor(gone.actor.address());
  announce(self, gone, false);
  if (st.members.empty()) schedule_sweep(self);
}

auto find_member_connection(channel_state& st, const caf::actor_addr& address) {
  return std::find_if(st.members.begin(), st.members.end(),
                      [&](const auto& entry) { return entry.second.actor.address() == address; });
}

channel_actor::behavior_type channel(self_pointer self, std::string id, std::string group,
                                     std::optional<connection_ref> first,
                                     user_directory_actor directory, channel_registry_actor registry,
                                     channel_settings settings) {
  auto& st = self->state;
  st.id = std::move(id);
  st.group = std::move(group);
  st.directory = std::move(directory);
  st.registry = std::move(registry);
  st.settings = settings;
  st.created_at = self->clock().now();
  if (first) {
    self->monitor(first->actor);
    st.members.emplace(first->user_id, std::move(*first));
  }
  schedule_sweep(self);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& members = self->state.members;
    if (auto it = find_member_connection(self->state, down.source); it != members.end())
      remove_member(self, it);
  });
  return {
      [=](join_atom, connection_ref& joiner) -> join_result {
        auto& st = self->state;
        if (st.closed) return {join_outcome::closed, {}};
        auto it = st.members.find(joiner.user_id);
        if (it != st.members.end()) {
          if (it->second.actor == joiner.actor) return {join_outcome::already_member, member_ids(st)};
          if (!st.is_group()) return {join_outcome::id_exists, {}};
          // Group replacement is completed by the group logic (issue 4).
          return {join_outcome::id_exists, {}};
        }
        self->monitor(joiner.actor);
        const connection_ref added = joiner;
        st.members.emplace(joiner.user_id, std::move(joiner));
        announce(self, added, true);
        return {join_outcome::joined, member_ids(st)};
      },
      [=](forward_atom, const std::string& target, const net::frame& frame) {
        auto& st = self->state;
        if (auto it = st.members.find(target); it != st.members.end()) it->second.sink->send(frame);
      },
      [=](hangup_atom, const connection_actor& sender, const std::string& target, const net::frame& frame) {
        auto& st = self->state;
        if (auto it = find_member_connection(st, sender.address()); it != st.members.end())
          remove_member(self, it);
        if (auto it = st.members.find(target); it != st.members.end()) {
          it->second.sink->send(frame);
          return;
        }
        if (st.is_group() && target == st.group) return;  // to the group: pipeline or dropped
        // Not answered yet: every live connection of the target user hears of it.
        self->request(st.directory, caf::infinite, lookup_atom::value, target)
            .then([frame](const connection_list& connections) {
              for (const auto& c : connections) c.sink->send(frame);
            });
      },
      [=](sweep_atom) {
        auto& st = self->state;
        if (st.closed || !st.members.empty()) return;
        if (self->clock().now() - st.created_at < st.settings.empty_lifetime) return schedule_sweep(self);
        st.closed = true;
        self->send(st.registry, retire_atom::value, st.id, caf::actor_cast<channel_actor>(self));
        self->quit();
      },
  };
}

}  // namespace

channel_actor spawn_channel(caf::actor_system& system, std::string id, std::string group,
                            std::optional<connection_ref> first, user_directory_actor directory,
                            channel_registry_actor registry, channel_settings settings) {
  return system.spawn(channel, std::move(id), std::move(group), std::move(first),
                      std::move(directory), std::move(registry), settings);
}

}  // namespace kwm::actors
