// A channel owned by another node, as this node's connections see it: every handler of
// channel_actor becomes an operation for the owner (docs/cluster.md, "Message paths").
// It remembers the local connections that joined through it, tells the owner when one of
// them ends (monitor), and after a takeover tells each of them to rejoin: the connection
// knows whether it still is a member (hangups and replacements end that there).
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unordered_map>

#include "actors/cluster_actors.hpp"
#include "actors/cluster_task.hpp"
#include "actors/event_log.hpp"
#include "actors/open_promises.hpp"
#include "cluster/record_codec.hpp"
#include "protocol/rtm_errors.hpp"

namespace kwm::actors {
namespace {

constexpr std::chrono::seconds idle_lifetime{60};

struct remote_channel_state {
  static inline const char* name = "remote_channel";
  cluster_link_pointer link;
  std::string id;
  std::string owner;
  channel_registry_actor registry;
  channel_actor local;  // set once this node took the channel over: a pass-through then
  // Connections that joined through this proxy, by connection id (those of the time before
  // a takeover here are let go at the takeover: they rejoin the local channel directly).
  std::unordered_map<uint64_t, connection_actor> members;
  open_promises promises;  // joins and chats waiting for the owner's reply
};

using self_pointer = remote_channel_actor::stateful_pointer<remote_channel_state>;

remote_channel_actor handle_of(self_pointer self) {
  return caf::actor_cast<remote_channel_actor>(self);
}

// Every way this proxy ends: the calls still waiting get an error, not silence.
void end(self_pointer self, caf::error reason = {}) {
  self->state.promises.fail_all();
  self->quit(std::move(reason));
}

void send_op(self_pointer self, cluster_op op, std::string_view user, uint64_t connection,
             std::string_view body) {
  auto& st = self->state;
  st.link->send_op(st.owner, st.id, op, user, connection, body);
}

// What the owner said to a join over the bus.
struct remote_join {
  std::optional<join_result> result;  // set when the owner answered as the owner
  bool reached = false;               // the owner answered at all (else: no answer in time)
};

// Joins through the bus. The owner writes the request's reply or answer itself (D21).
void join_remotely(self_pointer self, const join_request& request,
                   std::function<void(remote_join)> done) {
  auto& st = self->state;
  st.link->request_op(
      st.owner, st.id, cluster_op::join, request.joiner.user_id,
      connection_id(request.joiner.actor), encode_join_request(request),
      resume_in<std::string>(handle_of(self), [done](const cluster::result<std::string>& reply) {
        done(reply ? remote_join{decode_join_result(*reply), true} : remote_join{});
      }));
}

// After a takeover: the local members join the new owner through their connections (the
// dead owner's own members died with it). When the channel now lives here, the channel
// actor watches them from their join on, and this proxy lets them go.
// Every member connection but `except` (0: none) is told to rejoin.
void tell_members_to_rejoin(self_pointer self, uint64_t except = 0) {
  for (const auto& [id, connection] : self->state.members)
    if (id != except) self->send(connection, rejoin_atom::value, self->state.id);
}

void rejoin_members(self_pointer self) {
  auto& st = self->state;
  tell_members_to_rejoin(self);
  if (!st.local) return;
  // Their rejoins go to the registry, which hands out the local channel itself.
  for (const auto& [id, connection] : st.members) self->demonitor(connection.address());
  st.members.clear();
}

// Before the proxy ends: the registry forgets it first, so a connection that asks the
// registry again after this proxy's last answer never gets this proxy back.
void retire(self_pointer self) {
  auto& st = self->state;
  self->send(st.registry, retire_atom::value, st.id, caf::actor_cast<channel_actor>(self));
}

// A join through this proxy: to the channel taken over here, or over the bus to the owner.
// Every joiner is watched, also in pass-through mode: the proxy lives as long as connections
// that joined through it (they take its end for the channel's).
void forward_join(self_pointer self, join_request request, shared_promise<join_result> promise) {
  auto& st = self->state;
  const auto& joiner = request.joiner.actor;
  if (st.members.emplace(connection_id(joiner), joiner).second) self->monitor(joiner);
  if (st.local) {
    self->request(st.local, caf::infinite, join_atom::value, std::move(request))
        .then([=](const join_result& joined) { promise.deliver(joined); },
              [=](const caf::error& error) { promise.fail(error); });
    return;
  }
  const auto asked = st.owner;
  join_remotely(self, request, [=](remote_join joined) {
    if (joined.result) return promise.deliver(*joined.result);
    // Retargeted while the request was out (a paused owner's timeout): ask the new owner.
    if (self->state.local || self->state.owner != asked)
      return forward_join(self, request, promise);
    if (!joined.reached) {
      // The owner does not answer: dying (its node TTL has not ended yet), paused, or cut
      // off. The proxy stays for the members that joined through it: when the owner is
      // declared dead the registry takes the channel over through this proxy (ending it
      // would drop them from the group and leave nothing to take over).
      return promise.deliver(join_result{join_outcome::closed, 0});
    }
    // The owner no longer owns the channel (it ended there, or moved): this proxy ends, and
    // the connection asks the registry again (a closed channel is retried once). Members
    // that joined through it before rejoin wherever the registry finds the channel now
    // (told before the proxy's end reaches them; those no longer members ignore it).
    retire(self);
    tell_members_to_rejoin(self, connection_id(request.joiner.actor));
    promise.deliver(join_result{join_outcome::closed, 0});
    end(self);
  });
}

void schedule_sweep(self_pointer self) {
  self->delayed_send(self, idle_lifetime, sweep_atom::value);
}

remote_channel_actor::behavior_type remote_channel(self_pointer self, cluster_link_pointer link,
                                                   std::string id, std::string owner,
                                                   channel_registry_actor registry) {
  auto& st = self->state;
  st.link = std::move(link);
  st.id = std::move(id);
  st.owner = std::move(owner);
  st.registry = std::move(registry);
  schedule_sweep(self);
  self->set_exit_handler([=](caf::exit_msg& exit) {
    if (exit.reason) end(self, std::move(exit.reason));
  });
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    const auto connection = down.source.id();
    if (st.members.erase(connection) == 0) return;
    if (!st.local) send_op(self, cluster_op::leave, {}, connection, {});
  });
  return {
      [=](join_atom, join_request& request) -> caf::typed_response_promise<join_result> {
        auto promise = self->state.promises.keep(self->make_response_promise<join_result>());
        forward_join(self, std::move(request), promise);
        return promise.handle();
      },
      [=](chat_atom, const connection_actor& sender,
          const protocol::chats_message& message) -> caf::typed_response_promise<std::string> {
        auto promise = self->state.promises.keep(self->make_response_promise<std::string>());
        auto& st = self->state;
        if (st.local) {
          self->request(st.local, caf::infinite, chat_atom::value, sender, message)
              .then([=](const std::string& error) { promise.deliver(error); },
                    [=](const caf::error& error) { promise.fail(error); });
          return promise.handle();
        }
        st.link->request_op(
            st.owner, st.id, cluster_op::chat, {}, connection_id(sender),
            cluster::encode_chats_message(message),
            resume_in<std::string>(handle_of(self), [=](const cluster::result<std::string>& reply) {
              if (!reply) return promise.fail(caf::make_error(caf::sec::request_receiver_down));
              promise.deliver(*reply);
            }));
        return promise.handle();
      },
      [=](forward_atom, const std::string& target, const net::frame& frame) {
        if (self->state.local)
          return self->send(self->state.local, forward_atom::value, target, frame);
        send_op(self, cluster_op::forward, target, 0, *frame);
      },
      [=](hangup_atom, const connection_actor& sender, const std::string& target,
          const net::frame& frame) {
        auto& st = self->state;
        if (st.local) return self->send(st.local, hangup_atom::value, sender, target, frame);
        send_op(self, cluster_op::hangup, target, connection_id(sender), *frame);
      },
      // The channel's owner runs its pipeline.
      [=](pipeline_atom, const net::frame& frame) {
        if (self->state.local) return self->send(self->state.local, pipeline_atom::value, frame);
        send_op(self, cluster_op::pipeline, {}, 0, *frame);
      },
      [=](deliver_atom, const std::string&, const net::frame&) {},
      [=](reset_atom) {},
      [=](retarget_atom) {},  // for channels owned here
      [=](sweep_atom) {
        if (!self->state.members.empty()) return schedule_sweep(self);
        retire(self);
        end(self);
      },
      [=](retarget_atom, const channel_actor& local, const std::string& node, uint64_t) {
        auto& st = self->state;
        st.local = local;
        if (!local) st.owner = node;
        rejoin_members(self);
      },
      run_resumed(),
  };
}

}  // namespace

remote_channel_actor spawn_remote_channel(caf::actor_system& system, cluster_link_pointer link,
                                          std::string id, std::string owner,
                                          channel_registry_actor registry) {
  return system.spawn(remote_channel, std::move(link), std::move(id), std::move(owner),
                      std::move(registry));
}

}  // namespace kwm::actors
