#include "actors/channel.hpp"

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <cstring>

#include "protocol/chats_output.hpp"
#include "protocol/chats_rules.hpp"
#include "protocol/mcu_output.hpp"
#include "protocol/random.hpp"
#include "protocol/rtm_errors.hpp"
#include "protocol/webrtc_output.hpp"

namespace kwm::actors {
namespace {

using self_pointer = channel_actor::stateful_pointer<channel_state>;
using member_map = std::map<std::string, channel_member>;

std::vector<std::string> member_ids(const channel_state& st) {
  std::vector<std::string> ids;
  ids.reserve(st.members.size());
  for (const auto& entry : st.members) ids.push_back(entry.first);
  return ids;
}

void send_to_others(const channel_state& st, const std::string& except_user, const net::frame& frame) {
  for (const auto& [user, member] : st.members)
    if (user != except_user) member.connection.sink->send(frame);
}

// "X has joined/left the meeting." to every other member (spec §3.16, D15).
void announce(const channel_state& st, const connection_ref& who, bool joined) {
  if (st.members.size() <= (joined ? 1u : 0u)) return;
  const auto notice = protocol::membership_notice(who.user_id, who.display_name, joined,
                                                  protocol::unix_seconds_now());
  send_to_others(st, who.user_id,
                 net::make_frame(protocol::render_chats("chats_system", st.id, who.display_name, notice)));
}

protocol::channel_extra group_update(const channel_state& st, bool reset) {
  protocol::channel_extra extra;
  extra.group = protocol::group_extra{st.group, member_ids(st), reset};
  if (st.pipeline) extra.pipeline = protocol::pipeline_extra{st.id, std::string(protocol::pipeline_mode)};
  return extra;
}

net::frame member_list_frame(const channel_state& st) {
  return net::make_frame(protocol::render_channel_message(0, st.id, "", group_update(st, false)));
}

// Groups: the new member list to everyone but the user whose membership changed (§3.14).
// A list of this channel still waiting in a member's queue is dropped for the new one, at
// the end of the queue (N6): what a slow member holds per channel stays one list, however
// fast others join and leave, and no member sees a list earlier than it would otherwise.
void send_member_list(const channel_state& st, const std::string& changed_user) {
  if (!st.is_group() || st.members.empty()) return;
  const auto list = member_list_frame(st);
  for (const auto& [user, member] : st.members)
    if (user != changed_user) member.connection.sink->send_replacing(list, st.list_key);
}

// Once its last member is gone a channel goes at once (N7): its members cannot come back into
// it (a 1:1 channel's hash binds its two users, and a group is found by its name again), so
// keeping it would only let a client that opens and leaves channels make the server hold
// them. The sweep runs as a message, so a join already queued is served first.
void abandon(self_pointer self) {
  self->send(self, sweep_atom::value);
}

void count_member(channel_state& st, int delta) {
  auto& m = *st.settings.metrics;
  server_metrics::bump(delta > 0 ? m.channels_connections_added_total : m.channels_connections_removed_total);
  if (st.is_group()) server_metrics::add(m.group_channel_connections_current, delta);
}

// Removes a member without telling anyone yet, so that what caused the removal can be
// delivered before the notices (D21).
connection_ref take_member(self_pointer self, member_map::iterator it) {
  auto& st = self->state;
  connection_ref gone = std::move(it->second.connection);
  st.members.erase(it);
  count_member(st, -1);
  self->demonitor(gone.actor.address());
  return gone;
}

// The side effects of a removal: "left" and the new member list to the others.
void announce_departure(self_pointer self, const connection_ref& gone) {
  auto& st = self->state;
  announce(st, gone, false);
  send_member_list(st, gone.user_id);
  if (st.members.empty()) abandon(self);
}

// What a join sends before its side effects (D21): the group reply to the joiner, or the
// accepted answer to the caller. A member that rejoins after the channel moved to this owner
// (cluster mode) holds the old owner's member list: it gets this one's, as every other
// member does when the list changes.
void send_join_first(const channel_state& st, const channel_member& joined,
                     const join_request& request) {
  if (request.reply) {
    joined.connection.sink->send(net::make_frame(protocol::render_channel_message(
        request.reply->reply_to, st.id, request.reply->hash, group_update(st, true))));
  } else if (request.rejoin && st.is_group()) {
    joined.connection.sink->send_replacing(member_list_frame(st), st.list_key);
  }
  // Members of a pipelined channel only talk to the MCU.
  if (!request.answer || st.pipeline) return;
  if (auto it = st.members.find(request.answer_target); it != st.members.end())
    it->second.connection.sink->send(request.answer);
}

member_map::iterator find_member_connection(channel_state& st, const caf::actor_addr& address) {
  return std::find_if(st.members.begin(), st.members.end(),
                      [&](const auto& entry) { return entry.second.connection.actor.address() == address; });
}

bool is_full(const channel_state& st) {
  const auto cap = st.settings.max_group_members;
  return st.is_group() && cap != 0 && st.members.size() >= cap;
}

join_result join(self_pointer self, join_request& request) {
  auto& st = self->state;
  auto& joiner = request.joiner;
  if (st.closed) return {join_outcome::closed};
  auto it = st.members.find(joiner.user_id);
  if (it == st.members.end()) {
    if (!request.may_create && st.members.empty()) {
      abandon(self);  // the refused creator leaves nothing behind
      return {join_outcome::create_restricted};
    }
    if (is_full(st)) return {join_outcome::full};
    self->monitor(joiner.actor);
    const auto user = joiner.user_id;
    const auto& added = st.members.emplace(user, channel_member{std::move(joiner), ++st.memberships}).first->second;
    count_member(st, +1);
    send_join_first(st, added, request);
    announce(st, added.connection, true);
    send_member_list(st, user);
    return {join_outcome::joined, added.membership};
  }
  auto& member = it->second;
  if (member.connection.actor == joiner.actor) {
    send_join_first(st, member, request);
    return {join_outcome::already_member, member.membership};
  }
  if (!st.is_group()) return {join_outcome::id_exists};
  // A group keeps one connection per user: the newest replaces the old one.
  channel_member previous = std::move(member);
  self->demonitor(previous.connection.actor.address());
  self->monitor(joiner.actor);
  member = channel_member{std::move(joiner), ++st.memberships};
  send_join_first(st, member, request);
  protocol::channel_extra replaced;
  replaced.replaced = true;
  previous.connection.sink->send(
      net::make_frame(protocol::render_channel_message(0, st.id, "", replaced)));
  self->send(previous.connection.actor, left_atom::value, st.id, previous.membership);
  send_member_list(st, it->first);
  return {join_outcome::replaced, member.membership};
}

// A hangup goes to the pipeline, the target's member connection, or (a call not answered
// yet) every live connection of the target user; one to the group itself goes nowhere else.
void deliver_hangup(self_pointer self, const std::string& target, const net::frame& frame) {
  auto& st = self->state;
  if (st.pipeline) return self->send(st.pipeline, pipeline_atom::value, frame);
  if (auto it = st.members.find(target); it != st.members.end())
    return it->second.connection.sink->send(frame);
  if (st.is_group() && target == st.group) return;
  // The directory writes it: this channel may be gone before an answer could come back.
  self->send(st.directory, deliver_atom::value, target, frame);
}

std::string chat(self_pointer self, const connection_actor& sender, protocol::chats_message& message) {
  auto& st = self->state;
  // The sending connection itself must be its user's member connection.
  auto it = find_member_connection(st, sender.address());
  if (it == st.members.end()) return std::string(protocol::error_text::connection_not_in_channel);
  protocol::chat_data data;
  if (auto error = protocol::check_chat_data(message, data)) return std::string(*error);
  const connection_ref& from = it->second.connection;
  data.id = protocol::random_string(protocol::message_id_bytes);
  data.ts = protocol::unix_seconds_now();
  data.sender = from.user_id;
  from.sink->send(net::make_frame(protocol::render_chats_reply(message.id, "chats_message", st.id, data)));
  send_to_others(st, from.user_id,
                 net::make_frame(protocol::render_chats("chats_message", st.id, from.display_name, data)));
  from.sink->send(net::make_frame(
      protocol::render_chats("chats_system", st.id, std::nullopt, protocol::delivery_notice(data.id))));
  return {};
}

// Where this channel's membership numbers start: at random, so that in a cluster the numbers
// of a channel taken over by another node do not repeat its predecessor's, and a late
// "replaced" of the old owner never names a membership of the new one. Far below 2^64:
// counting up never wraps.
uint64_t first_membership() {
  const auto bytes = protocol::random_bytes(sizeof(uint64_t));
  uint64_t number = 0;
  std::memcpy(&number, bytes.data(), sizeof number);
  return number >> 2;
}

// Ends the channel: later joins find it closed, the registry forgets it.
void close_channel(self_pointer self) {
  auto& st = self->state;
  st.closed = true;
  if (st.pipeline) {
    self->unlink_from(st.pipeline);
    self->send(st.pipeline, detach_atom::value);
  }
  self->send(st.registry, retire_atom::value, st.id, caf::actor_cast<channel_actor>(self));
  self->quit();
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
  st.list_key = self->id();
  st.memberships = first_membership();
  if (first) {
    self->monitor(first->actor);
    const auto user = first->user_id;
    st.members.emplace(user, channel_member{std::move(*first), ++st.memberships});
    count_member(self->state, +1);
  }
  if (st.settings.pipelines && st.settings.pipelines->applies_to(st.id)) {
    st.pipeline = spawn_pipeline(self->system(), st.id, caf::actor_cast<channel_actor>(self), st.settings.pipelines);
    self->link_to(st.pipeline);  // a channel that dies takes its pipeline along
  }
  self->set_down_handler([=](caf::down_msg& down) {
    auto& members = self->state.members;
    if (auto it = find_member_connection(self->state, down.source); it != members.end())
      announce_departure(self, take_member(self, it));
  });
  return {
      [=](join_atom, join_request& request) -> join_result { return join(self, request); },
      [=](chat_atom, const connection_actor& sender,
          protocol::chats_message& message) -> std::string { return chat(self, sender, message); },
      [=](forward_atom, const std::string& target, const net::frame& frame) {
        auto& st = self->state;
        if (st.pipeline) return;  // members only talk to the MCU (call answers are dropped)
        if (auto it = st.members.find(target); it != st.members.end())
          it->second.connection.sink->send(frame);
      },
      [=](pipeline_atom, const net::frame& frame) {
        if (self->state.pipeline) self->send(self->state.pipeline, pipeline_atom::value, frame);
      },
      [=](deliver_atom, const std::string& target, const net::frame& frame) {
        auto& st = self->state;
        if (auto it = st.members.find(target); it != st.members.end())
          it->second.connection.sink->send(frame);
      },
      [=](reset_atom) {
        auto& st = self->state;
        if (!st.is_group() || st.members.empty()) return;
        send_to_others(st, {}, net::make_frame(protocol::render_channel_message(0, st.id, "", group_update(st, true))));
      },
      [=](hangup_atom, const connection_actor& sender, const std::string& target,
          const net::frame& frame) {
        auto& st = self->state;
        std::optional<connection_ref> gone;
        if (auto it = find_member_connection(st, sender.address()); it != st.members.end())
          gone = take_member(self, it);
        deliver_hangup(self, target, frame);
        if (gone) announce_departure(self, *gone);
      },
      [=](sweep_atom) {
        auto& st = self->state;
        if (st.closed || !st.members.empty()) return;
        close_channel(self);
      },
      [=](retarget_atom) {
        auto& st = self->state;
        while (!st.members.empty()) {
          const auto moving = take_member(self, st.members.begin());
          self->send(moving.actor, rejoin_atom::value, st.id);
        }
        close_channel(self);
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
