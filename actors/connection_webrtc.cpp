// The connection actor's `webrtc` messages: starting, answering and ending 1:1 calls and
// relaying signals (spec §3.10–§3.13). Each step that needs another actor's answer
// awaits it, so the connection's frames are handled strictly in order.
#include <caf/event_based_actor.hpp>

#include <memory>

#include "actors/connection_detail.hpp"
#include "protocol/webrtc_output.hpp"
#include "protocol/webrtc_rules.hpp"

namespace kwm::actors::detail {
namespace {

using message_ptr = std::shared_ptr<protocol::webrtc_message>;

const protocol::channel_hasher& hasher(connection_self self) { return *self->state.context->hasher; }

void remember_channel(connection_self self, const std::string& id, const channel_actor& channel) {
  if (self->state.channels.emplace(id, channel).second) self->monitor(channel);
}

// Whether one more membership than `held` would pass the cap (0 = unlimited, D20).
bool at_cap(std::size_t held, uint32_t cap) { return cap != 0 && held >= cap; }

const connection_settings& settings(connection_self self) { return self->state.context->settings; }

// Whether this connection may become a member of channel `id`: it already counts it, or its
// groups (for '@' ids) or 1:1 channels are below their cap.
bool may_join(connection_self self, const std::string& id) {
  const auto& st = self->state;
  if (protocol::is_group_channel_id(id))
    return st.groups.count(id) != 0 || !at_cap(st.groups.size(), settings(self).max_groups);
  return st.calls.count(id) != 0 || !at_cap(st.calls.size(), settings(self).max_calls);
}

void count_membership(connection_self self, const std::string& id, uint64_t membership) {
  if (protocol::is_group_channel_id(id))
    self->state.groups[id] = membership;
  else
    self->state.calls.insert(id);
}

// The membership ends here (hangup) or ended elsewhere: it no longer counts for D20.
void forget_membership(connection_self self, const std::string& id) {
  self->state.groups.erase(id);
  self->state.calls.erase(id);
}

void send_to_all(const connection_list& connections, const net::frame& frame) {
  for (const auto& connection : connections) connection.sink->send(frame);
}

// webrtc_call with initiator: a new 1:1 channel, the reply to the caller, and the call
// to every live connection of the callee.
void start_call(connection_self self, protocol::webrtc_message& message) {
  const auto& auth = self->state.auth;
  if (auto error = protocol::check_call_request(message, auth.user_id))
    return send_bad_message(self, message.id, *error);
  if (!auth.can_create_channels)
    return send_error(self, message.id,
                      {protocol::error_code::create_restricted, protocol::error_text::access_denied});
  if (at_cap(self->state.calls.size(), settings(self).max_calls))
    return send_bad_message(self, message.id, protocol::error_text::too_many_channels);
  auto call = std::make_shared<protocol::webrtc_message>(std::move(message));
  self->request(self->state.context->channels, caf::infinite, create_atom::value, self_ref(self))
      .await([=](const created_channel& created) {
        // The process or this user is at its cap of live channels (N7).
        if (!created.actor)
          return send_bad_message(self, call->id, protocol::error_text::too_many_channels);
        const auto& me = self->state.auth;
        remember_channel(self, created.id, created.actor);
        self->state.calls.insert(created.id);
        const auto hash = hasher(self).hash(me.user_id, call->target, created.id);
        send_text(self, protocol::render_channel_message(call->id, created.id, hash, {}));
        call->channel = created.id;
        auto frame = net::make_frame(protocol::render_forwarded(
            *call, {me.user_id, std::string_view(me.display_name), std::string_view(hash)}));
        self->request(self->state.context->directory, caf::infinite, lookup_atom::value, call->target)
            .await([frame](const connection_list& callee) { send_to_all(callee, frame); });
      });
}

// A 1:1 answer as the caller gets it: with source and profile, without id.
net::frame relayed_answer(connection_self self, const protocol::webrtc_message& answer) {
  const auto& auth = self->state.auth;
  return net::make_frame(protocol::render_forwarded(
      answer, {auth.user_id, std::string_view(auth.display_name), std::nullopt}));
}

// The callee's other connections stop ringing: "taken elsewhere" (spec §3.11).
void send_taken_elsewhere(connection_self self, const connection_list& mine,
                          const protocol::webrtc_message& answer) {
  const auto me = caf::actor_cast<connection_actor>(self);
  auto notice = net::make_frame(protocol::render_taken_elsewhere(answer.target, answer.channel));
  for (const auto& connection : mine)
    if (connection.actor != me) connection.sink->send(notice);
}

// `then` with every live connection of this connection's user.
void with_own_connections(connection_self self, std::function<void(const connection_list&)> then) {
  self->request(self->state.context->directory, caf::infinite, lookup_atom::value,
                self->state.auth.user_id)
      .await([then = std::move(then)](const connection_list& mine) { then(mine); });
}

// A rejection: the busy rule, the "taken elsewhere" notices, and the answer to the caller.
void deliver_rejection(connection_self self, const channel_actor& channel,
                       const message_ptr& answer) {
  with_own_connections(self, [=](const connection_list& mine) {
    // Another device of a busy callee may still pick up.
    if (answer->answer->reason == "reject_busy" && mine.size() > 1) return;
    send_taken_elsewhere(self, mine, *answer);
    self->send(channel, forward_atom::value, answer->target, relayed_answer(self, *answer));
  });
}

void answer_in_group(connection_self self, const channel_actor& channel, const message_ptr& answer) {
  if (!answer->answer->accept)
    return send_bad_message(self, answer->id, protocol::error_text::accept_required);
  // Both ends of a mesh pair get the same pairwise hash (spec §3.8).
  const auto& auth = self->state.auth;
  const auto pairwise = hasher(self).hash(auth.user_id, answer->target, answer->channel);
  self->send(channel, forward_atom::value, answer->target,
             net::make_frame(protocol::render_forwarded(
                 *answer, {auth.user_id, std::string_view(auth.display_name), std::string_view(pairwise)})));
}

// webrtc_call without initiator: accept or reject a call (or a mesh pair in a group).
void answer_call(connection_self self, protocol::webrtc_message& message) {
  if (auto error = protocol::check_answer(message, self->state.auth.user_id))
    return send_bad_message(self, message.id, *error);
  auto answer = std::make_shared<protocol::webrtc_message>(std::move(message));
  with_channel(self, answer->channel, [=](const channel_actor& channel) {
    if (!channel) return send_bad_message(self, answer->id, protocol::error_text::channel_not_found);
    if (auto error = protocol::check_channel_hash(hasher(self), *answer, self->state.auth.user_id, false))
      return send_bad_message(self, answer->id, *error);
    if (auto error = protocol::check_answer_data(*answer)) return send_bad_message(self, answer->id, *error);
    if (!answer->group.empty()) return answer_in_group(self, channel, answer);
    if (!answer->answer->accept) return deliver_rejection(self, channel, answer);
    // (A pairwise group hash also opens a group channel this way.)
    if (!may_join(self, answer->channel))
      return send_bad_message(self, answer->id, protocol::error_text::too_many_channels);
    // The channel relays the answer before it announces the join (D21).
    join_request request(self_ref(self));
    request.answer_target = answer->target;
    request.answer = relayed_answer(self, *answer);
    self->request(channel, caf::infinite, join_atom::value, std::move(request))
        .await(
            [=](const join_result& joined) {
              switch (joined.outcome) {
                case join_outcome::closed:
                case join_outcome::create_restricted:  // not asked for: the joiner may create
                  return send_bad_message(self, answer->id, protocol::error_text::channel_is_closed);
                case join_outcome::id_exists:
                  return send_bad_message(self, answer->id, protocol::error_text::id_already_exists);
                case join_outcome::full:
                  return send_bad_message(self, answer->id, protocol::error_text::group_is_full);
                default:  // joined, already_member, replaced
                  count_membership(self, answer->channel, joined.membership);
                  return with_own_connections(self, [=](const connection_list& mine) {
                    send_taken_elsewhere(self, mine, *answer);
                  });
              }
            },
            [=](const caf::error&) {
              send_bad_message(self, answer->id, protocol::error_text::channel_is_closed);
            });
  });
}

// webrtc_signal and webrtc_hangup share their validation (spec §3.12, §3.13).
void relay(connection_self self, protocol::webrtc_message& message, bool hangup) {
  if (auto error = protocol::check_signal(message)) return send_bad_message(self, message.id, *error);
  auto relayed = std::make_shared<protocol::webrtc_message>(std::move(message));
  with_channel(self, relayed->channel, [=](const channel_actor& channel) {
    if (!channel) return send_bad_message(self, relayed->id, protocol::error_text::channel_not_found);
    const auto& me = self->state.auth.user_id;
    // In a pipelined channel every signal and hangup goes to the MCU, with its id (§3.17).
    const bool pipelined = self->state.context->is_pipelined(relayed->channel);
    if (auto error = protocol::check_channel_hash(hasher(self), *relayed, me, pipelined))
      return send_bad_message(self, relayed->id, *error);
    auto frame = net::make_frame(protocol::render_forwarded(*relayed, {me, std::nullopt, std::nullopt, pipelined}));
    if (hangup) {
      // The channel removes the sender when it is the member connection: the membership ends.
      forget_membership(self, relayed->channel);
      return self->send(channel, hangup_atom::value, caf::actor_cast<connection_actor>(self),
                        relayed->target, std::move(frame));
    }
    if (pipelined) return self->send(channel, pipeline_atom::value, std::move(frame));
    // A signal to the group itself only goes to an MCU pipeline; without one it is dropped.
    if (!relayed->group.empty() && relayed->target == relayed->group) return;
    self->send(channel, forward_atom::value, relayed->target, std::move(frame));
  });
}

// Gets (or creates) the group's channel and joins it. A channel that is being removed
// answers `closed`; by then the registry has forgotten it, so one retry gets a new one.
void join_group_channel(connection_self self, const message_ptr& request, bool may_retry) {
  auto retry_or_fail = [=] {
    if (may_retry) return join_group_channel(self, request, false);
    send_bad_message(self, request->id, protocol::error_text::channel_is_closed);
  };
  self->request(self->state.context->channels, caf::infinite, group_atom::value, request->group,
                self->state.auth.user_id)
      .await([=](const channel_actor& channel) {
        // A new group would pass a cap of live channels (N7).
        if (!channel)
          return send_bad_message(self, request->id, protocol::error_text::too_many_channels);
        // The channel sends the reply, with its member list, before anyone hears of the join (D21).
        const auto id = protocol::group_channel_id(request->group);
        const auto& auth = self->state.auth;
        join_request join(self_ref(self), auth.can_create_channels);
        join.reply = group_reply{request->id, hasher(self).hash(auth.user_id, request->group, id)};
        self->request(channel, caf::infinite, join_atom::value, std::move(join))
            .await(
                [=](const join_result& joined) {
                  switch (joined.outcome) {
                    case join_outcome::closed:
                      return retry_or_fail();
                    case join_outcome::create_restricted:
                      return send_error(self, request->id,
                                        {protocol::error_code::create_restricted,
                                         protocol::error_text::access_denied});
                    case join_outcome::id_exists:
                      return send_bad_message(self, request->id, protocol::error_text::id_already_exists);
                    case join_outcome::full:
                      return send_bad_message(self, request->id, protocol::error_text::group_is_full);
                    default:  // joined, already_member, replaced
                      remember_channel(self, id, channel);
                      return count_membership(self, id, joined.membership);
                  }
                },
                [=](const caf::error&) { retry_or_fail(); });
      });
}

// webrtc_group: join (or rejoin) a group channel (spec §3.14). `data` is ignored.
void join_group(connection_self self, protocol::webrtc_message& message) {
  if (auto error = protocol::check_group_join(message)) return send_bad_message(self, message.id, *error);
  // Rejoining a group this connection is in always works (kwmjs refreshGroup).
  if (!may_join(self, protocol::group_channel_id(message.group)))
    return send_bad_message(self, message.id, protocol::error_text::too_many_channels);
  join_group_channel(self, std::make_shared<protocol::webrtc_message>(std::move(message)), true);
}

void forget_channel(connection_self self, const std::string& id) {
  auto& channels = self->state.channels;
  if (auto it = channels.find(id); it != channels.end()) {
    self->demonitor(it->second.address());
    channels.erase(it);
  }
}

// Joins the moved channel as the member this connection was. When that finds the channel
// closed (a proxy that followed an old owner ends so; a group whose other members all left
// before this rejoin ends too), the registry is asked once more: a group is made anew, as a
// `webrtc_group` would, a 1:1 channel is looked up where it lives now.
void rejoin_member(connection_self self, const std::string& id, const channel_actor& channel,
                   bool may_retry) {
  auto again = [=] {
    if (!may_retry) return forget_membership(self, id);
    forget_channel(self, id);
    auto retry = [=](const channel_actor& found) {
      if (found) remember_channel(self, id, found);
      rejoin_member(self, id, found, false);
    };
    auto give_up = [=](const caf::error&) { forget_membership(self, id); };
    const auto& channels = self->state.context->channels;
    if (protocol::is_group_channel_id(id))
      self->request(channels, caf::infinite, group_atom::value, id.substr(1),
                    self->state.auth.user_id)
          .await(retry, give_up);
    else
      self->request(channels, caf::infinite, lookup_atom::value, id).await(retry, give_up);
  };
  if (!channel) return again();
  // It is a member already: joining the moved channel does not create it.
  join_request rejoin(self_ref(self), true);
  rejoin.rejoin = true;
  self->request(channel, caf::infinite, join_atom::value, std::move(rejoin))
      .await(
          [=](const join_result& joined) {
            if (joined.outcome == join_outcome::closed) return again();
            if (!is_membership(joined.outcome)) return forget_membership(self, id);
            count_membership(self, id, joined.membership);
          },
          [=](const caf::error&) { again(); });
}

}  // namespace

void rejoin_channel(connection_self self, const std::string& id) {
  forget_channel(self, id);
  // A hangup or a replacement ended the membership before: nothing to take along.
  const auto& st = self->state;
  if (st.groups.count(id) == 0 && st.calls.count(id) == 0) return;
  with_channel(self, id,
               [=](const channel_actor& channel) { rejoin_member(self, id, channel, true); });
}

void handle_webrtc(connection_self self, protocol::webrtc_message& message) {
  if (auto error = protocol::check_webrtc_envelope(message, self->state.auth))
    return send_error(self, message.id, *error);
  if (message.subtype == "webrtc_call") {
    if (message.initiator) return start_call(self, message);
    return answer_call(self, message);
  }
  if (message.subtype == "webrtc_signal") return relay(self, message, false);
  if (message.subtype == "webrtc_hangup") return relay(self, message, true);
  if (message.subtype == "webrtc_group") return join_group(self, message);
  send_bad_message(self, message.id, protocol::error_text::unknown_subtype);
}

}  // namespace kwm::actors::detail
