// The receiving end of the bus for channels owned here (docs/cluster.md, "Message paths"):
// operations of members on other nodes reach the channel actors as if those members were
// local. Each remote member connection is a `remote_member` ghost on this node: a
// connection_actor whose sink publishes to the member's node, so the channel actor treats
// it like any member (monitor, replacement, chat sequencing) and needs no change. A ghost
// ends with its connection (`leave`), with its node, or once no channel here that it joined
// is left (a channel ends, or closes after it moved to another node).
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "actors/cluster_actors.hpp"
#include "actors/event_log.hpp"
#include "cluster/record_codec.hpp"
#include "protocol/rtm_errors.hpp"

namespace kwm::actors {
namespace {

// -- remote_member: a connection of another node, as channels owned here see it ----------

struct remote_member_state {
  static inline const char* name = "remote_member";
};

connection_actor::behavior_type remote_member(
    connection_actor::stateful_pointer<remote_member_state> self, cluster_link_pointer link,
    std::string node, uint64_t connection) {
  return {
      [](text_atom, const std::string&) {},
      [](binary_atom, uint64_t) {},
      [=](closed_atom) { self->quit(); },
      // Replaced in a group by another device: the real connection hears of it.
      [=](left_atom, const std::string& channel, uint64_t membership) {
        link->send_op(node, channel, cluster_op::left, {}, connection,
                      encode_membership(membership));
      },
      // A channel here moved to another node: the real connection rejoins it there (its own
      // node may have followed the move already; then the rejoin finds it a member).
      [=](rejoin_atom, const std::string& channel) {
        link->send_op(node, channel, cluster_op::rejoin, {}, connection, {});
      },
  };
}

// -- the gateway -----------------------------------------------------------------------------

using ghost_key = std::pair<std::string, uint64_t>;  // (node, connection)

struct ghost {
  connection_actor actor;
  std::size_t channels = 0;       // channels here that admitted it and have not ended
  std::size_t joins_waiting = 0;  // joins on their way to a channel
};

struct cluster_gateway_state {
  static inline const char* name = "cluster_gateway";
  cluster_link_pointer link;
  cluster_registry_actor registry;
  cluster_mcu_broker_actor mcu;  // invalid without --enable-mcu-api
  std::map<ghost_key, ghost> ghosts;
  std::unordered_map<std::string, channel_actor> channels;  // resolved owned channels
  // The ghosts each of those channels admitted (keys of ghosts that ended may remain).
  std::unordered_map<caf::actor_addr, std::set<ghost_key>> members_by_channel;
};

using self_pointer = cluster_gateway_actor::stateful_pointer<cluster_gateway_state>;

ghost& ghost_of(self_pointer self, const remote_operation& op) {
  auto& st = self->state;
  auto [it, added] = st.ghosts.try_emplace({op.node, op.connection});
  if (added) {
    it->second.actor = self->system().spawn(remote_member, st.link, op.node, op.connection);
    st.link->remote_members.fetch_add(1, std::memory_order_relaxed);
  }
  return it->second;
}

connection_actor existing_ghost(self_pointer self, const remote_operation& op) {
  auto& ghosts = self->state.ghosts;
  auto it = ghosts.find({op.node, op.connection});
  return it == ghosts.end() ? connection_actor{} : it->second.actor;
}

void end_ghost(self_pointer self, std::map<ghost_key, ghost>::iterator it) {
  caf::anon_send_exit(it->second.actor, caf::exit_reason::user_shutdown);
  self->state.ghosts.erase(it);
  self->state.link->remote_members.fetch_sub(1, std::memory_order_relaxed);
}

// A ghost that no channel here holds and no join waits for is a member of nothing here.
void end_ghost_if_unused(self_pointer self, const ghost_key& key) {
  auto it = self->state.ghosts.find(key);
  if (it != self->state.ghosts.end() && it->second.channels == 0 && it->second.joins_waiting == 0)
    end_ghost(self, it);
}

// The answer to a ghost's join arrived (`admitted_by`: the channel, when it admitted it).
void join_answered(self_pointer self, const ghost_key& key, const channel_actor& admitted_by) {
  auto& st = self->state;
  auto it = st.ghosts.find(key);
  if (it == st.ghosts.end()) return;  // its connection or node ended meanwhile
  --it->second.joins_waiting;
  if (admitted_by && st.members_by_channel[admitted_by.address()].insert(key).second)
    ++it->second.channels;
  end_ghost_if_unused(self, key);
}

// An owned channel ended: the ghosts it admitted are no longer members of it.
void channel_ended(self_pointer self, const caf::actor_addr& channel) {
  auto& st = self->state;
  auto admitted = st.members_by_channel.find(channel);
  if (admitted == st.members_by_channel.end()) return;
  const auto keys = std::move(admitted->second);
  st.members_by_channel.erase(admitted);
  for (const auto& key : keys) {
    auto it = st.ghosts.find(key);
    if (it == st.ghosts.end()) continue;
    --it->second.channels;
    end_ghost_if_unused(self, key);
  }
}

// Runs `next` with the owned channel (invalid when this node does not own it). Later
// operations wait (await), so a channel's operations reach it in bus order. `joiner`: the
// user id of a joining member (the creator of a group taken here), empty for other operations.
void with_owned(self_pointer self, const std::string& id, const std::string& joiner,
                std::function<void(const channel_actor&)> next) {
  auto& channels = self->state.channels;
  if (auto it = channels.find(id); it != channels.end()) return next(it->second);
  self->request(self->state.registry, caf::infinite, owned_atom::value, id, joiner)
      .await(
          [=](const channel_actor& channel) {
            if (channel && self->state.channels.emplace(id, channel).second) self->monitor(channel);
            next(channel);
          },
          [=](const caf::error&) { next(channel_actor{}); });
}

void run_operation(self_pointer self, const remote_operation& op) {
  switch (static_cast<cluster_op>(op.op)) {
    case cluster_op::leave: {
      auto& ghosts = self->state.ghosts;
      if (auto it = ghosts.find({op.node, op.connection}); it != ghosts.end()) end_ghost(self, it);
      return;
    }
    case cluster_op::forward:
      return with_owned(self, op.channel, {}, [=](const channel_actor& channel) {
        if (channel) self->send(channel, forward_atom::value, op.user, net::make_frame(op.body));
      });
    case cluster_op::pipeline:
      return with_owned(self, op.channel, {}, [=](const channel_actor& channel) {
        if (channel) self->send(channel, pipeline_atom::value, net::make_frame(op.body));
      });
    case cluster_op::mcu_control:
    case cluster_op::mcu_open:
    case cluster_op::mcu_text:
    case cluster_op::mcu_closed:
      if (self->state.mcu) self->send(self->state.mcu, op_atom::value, op);
      return;
    case cluster_op::hangup:
      return with_owned(self, op.channel, {}, [=](const channel_actor& channel) {
        if (channel)
          self->send(channel, hangup_atom::value, existing_ghost(self, op), op.user,
                     net::make_frame(op.body));
      });
    default:
      return;
  }
}

// A remote member's join, with the ghost as joiner. A cached channel that ended before its
// down message arrived is looked up once more (the registry makes the group anew).
void join_owned(self_pointer self, const remote_operation& op, const join_request& request,
                const bus_responder& responder, bool may_retry) {
  with_owned(self, op.channel, op.user, [=](const channel_actor& channel) {
    if (!channel) return responder.respond(encode_join_moved());
    auto join = request;
    auto& member = ghost_of(self, op);
    ++member.joins_waiting;
    const ghost_key key{op.node, op.connection};
    // The sink is the membership's: its frames carry the channel, for fencing.
    join.joiner = connection_ref{op.user, std::move(join.joiner.display_name), member.actor,
                                 self->state.link->member_sink(op.node, op.connection, op.channel)};
    self->request(channel, caf::infinite, join_atom::value, std::move(join))
        .then(
            [=](const join_result& joined) {
              join_answered(self, key, is_membership(joined.outcome) ? channel : channel_actor{});
              responder.respond(encode_join_result(joined));
            },
            [=](const caf::error&) {
              join_answered(self, key, channel_actor{});
              auto& channels = self->state.channels;
              if (auto it = channels.find(op.channel);
                  it != channels.end() && it->second == channel) {
                self->demonitor(channel.address());
                channels.erase(it);
                channel_ended(self, channel.address());  // its down message is not coming
              }
              if (may_retry) return join_owned(self, op, request, responder, false);
              responder.respond(encode_join_moved());
            });
  });
}

void answer_request(self_pointer self, const remote_operation& op, const bus_responder& responder) {
  const auto kind = static_cast<cluster_op>(op.op);
  if (kind == cluster_op::join) {
    const auto request = decode_join_request(op.body);
    if (!request) return;
    return join_owned(self, op, *request, responder, true);
  }
  if (kind == cluster_op::chat) {
    auto message = cluster::decode_chats_message(op.body);
    if (!message) return;
    return with_owned(self, op.channel, {}, [=](const channel_actor& channel) {
      if (!channel) return responder.respond(std::string(protocol::error_text::channel_not_found));
      self->request(channel, caf::infinite, chat_atom::value, existing_ghost(self, op), *message)
          .then([=](const std::string& error) { responder.respond(error); },
                [=](const caf::error&) {
                  responder.respond(std::string(protocol::error_text::channel_not_found));
                });
    });
  }
}

cluster_gateway_actor::behavior_type cluster_gateway(self_pointer self, cluster_link_pointer link,
                                                     cluster_registry_actor registry,
                                                     cluster_mcu_broker_actor mcu) {
  self->state.link = std::move(link);
  self->state.registry = std::move(registry);
  self->state.mcu = std::move(mcu);
  self->set_down_handler([=](caf::down_msg& down) {
    channel_ended(self, down.source);
    auto& channels = self->state.channels;
    for (auto it = channels.begin(); it != channels.end(); ++it)
      if (it->second.address() == down.source) {
        channels.erase(it);
        return;
      }
  });
  return {
      [=](op_atom, const remote_operation& op) { run_operation(self, op); },
      [=](op_atom, const remote_operation& op, const bus_responder& responder) {
        answer_request(self, op, responder);
      },
      [=](nodes_atom, const node_list& nodes) {
        auto& ghosts = self->state.ghosts;
        for (auto it = ghosts.begin(); it != ghosts.end();) {
          auto next = std::next(it);
          if (!std::binary_search(nodes.alive.begin(), nodes.alive.end(), it->first.first))
            end_ghost(self, it);
          it = next;
        }
        self->send(self->state.registry, nodes_atom::value, nodes);
        if (self->state.mcu) self->send(self->state.mcu, nodes_atom::value, nodes);
      },
      [=](shutdown_atom) {
        for (auto& [key, member] : self->state.ghosts)
          caf::anon_send_exit(member.actor, caf::exit_reason::user_shutdown);
        self->quit(caf::exit_reason::user_shutdown);
      },
  };
}

}  // namespace

cluster_gateway_actor spawn_cluster_gateway(caf::actor_system& system, cluster_link_pointer link,
                                            cluster_registry_actor registry,
                                            cluster_mcu_broker_actor mcu) {
  return system.spawn(cluster_gateway, std::move(link), std::move(registry), std::move(mcu));
}

}  // namespace kwm::actors
