// The MCU broker in cluster mode (docs/cluster.md, "MCU pipelines across nodes"). The MCU
// connects its control sockets to whichever nodes the load balancer picks, a pipeline lives
// on its channel's owner, and the data socket the MCU opens for an attach reaches any node:
//
// * attach and detach go to a control socket of this node when it has one, else to the
//   next node (round-robin) that holds control sockets (their count per node is in Redis);
// * handles come from one counter in Redis, transactions are recorded in Redis with the
//   pipeline's node, so the data socket's node finds the pipeline and uses the transaction
//   up atomically (D11 across nodes);
// * a data socket on another node is relayed: its opening, text and end travel to this
//   node's broker, which hands them to the pipeline; the pipeline's frames and its closing
//   of the socket travel back to the socket directly (cluster_link's socket table).
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "actors/cluster_mcu.hpp"
#include "actors/cluster_task.hpp"
#include "actors/event_log.hpp"
#include "actors/open_promises.hpp"
#include "protocol/mcu_output.hpp"

namespace kwm::actors {
namespace {

// Transaction ids this node issues are 16 characters; anything much longer is not one of
// any node's and is refused without asking Redis.
constexpr std::size_t longest_transaction = 64;

struct cluster_mcu_broker_state {
  static inline const char* name = "cluster_mcu_broker";

  // A data socket on another node, bound to a pipeline of this node.
  struct bridged_socket {
    pipeline_actor pipeline;
    uint64_t number = 0;  // the number the pipeline knows the socket by
  };
  struct looked_up_relay {
    pipeline_actor relay;
    caf::actor_clock::time_point since;
  };

  mcu_broker_state local;  // control sockets here, pipelines here waiting for a data socket
  cluster_link_pointer link;
  open_promises promises;  // attaches and claims waiting for Redis
  // By (the socket's node, the socket's id there).
  std::map<std::pair<std::string, uint64_t>, bridged_socket> bridged;
  // Relays of sockets on this node for pipelines elsewhere, by socket (relay) id.
  struct relay_in_use {
    pipeline_actor relay;
    std::string node;  // the pipeline's
  };
  std::unordered_map<uint64_t, relay_in_use> relays;
  // Relays made when a transaction of another node was looked up (the upgrade is not yet
  // accepted), until taken or swept.
  std::unordered_map<std::string, looked_up_relay> looked_up;
  uint64_t next_remote_control = 0;  // round-robin over other nodes with control sockets
};

using self_pointer = cluster_mcu_broker_actor::stateful_pointer<cluster_mcu_broker_state>;

cluster_mcu_broker_actor handle_of(self_pointer self) {
  return caf::actor_cast<cluster_mcu_broker_actor>(self);
}

cluster::cluster_node& node_of(self_pointer self) { return self->state.link->node(); }

const std::string control_holder(cluster::key_space::mcu_control_holder);

void write_control_count(self_pointer self) {
  node_of(self).mcu_controls().resync({{control_holder, self->state.local.controls.size()}},
                                      ignore_result<cluster::done>());
}

void schedule_refresh(self_pointer self) {
  self->delayed_send(self, node_of(self).timing().user_expiry / 3, refresh_atom::value);
}

// Writes `frame` on a control socket: one of this node's, else one of the next other node
// holding control sockets. `done(false)`: no control socket anywhere (or Redis unreachable).
void send_control(self_pointer self, net::frame frame, std::function<void(bool)> done) {
  if (auto control = next_control(self->state.local)) {
    control->send(frame);
    return done(true);
  }
  node_of(self).mcu_controls().locate(
      control_holder,
      resume_in<std::vector<cluster::node_connections>>(
          handle_of(self),
          [=](const cluster::result<std::vector<cluster::node_connections>>& holders) {
            auto& st = self->state;
            if (auto control = next_control(st.local)) {  // one opened meanwhile
              control->send(frame);
              return done(true);
            }
            std::vector<std::string> nodes;
            if (holders)
              for (const auto& holder : *holders)
                if (holder.node != st.link->self() && holder.connections != 0)
                  nodes.push_back(holder.node);
            if (nodes.empty()) return done(false);
            std::sort(nodes.begin(), nodes.end());
            const auto& node = nodes[st.next_remote_control++ % nodes.size()];
            st.link->send_op(node, {}, cluster_op::mcu_control, {}, 0, *frame);
            done(true);
          }));
}

// Records the transaction in Redis, then sends the attach; 0 when either failed (the
// pipeline's watchdog tries again).
void attach_with(self_pointer self, int64_t handle, const pipeline_actor& pipeline,
                 shared_promise<int64_t> promise) {
  auto& st = self->state;
  const auto transaction = new_transaction(st.local);
  st.local.pending[transaction] = {pipeline, self->clock().now()};
  auto give_up = [=] {
    self->state.local.pending.erase(transaction);
    promise.deliver(int64_t{0});
  };
  node_of(self).mcu_transactions().issue(
      transaction,
      resume_in<cluster::done>(handle_of(self), [=](const cluster::result<cluster::done>& issued) {
        if (!issued) return give_up();
        send_control(
            self, net::make_frame(protocol::render_mcu_control("attach", transaction, handle)),
            [=](bool sent) {
              if (!sent) return give_up();
              promise.deliver(handle);
            });
      }));
}

void forget_relay(self_pointer self, const std::string& transaction) {
  auto& looked_up = self->state.looked_up;
  if (auto it = looked_up.find(transaction); it != looked_up.end()) {
    caf::anon_send(it->second.relay, detach_atom::value);
    looked_up.erase(it);
  }
}

// A transaction of another node: a relay to its pipeline, or invalid when Redis knows no
// such transaction (unknown, used, expired).
void claim_elsewhere(self_pointer self, const std::string& transaction, bool take,
                     shared_promise<pipeline_actor> promise) {
  auto& st = self->state;
  if (!take)
    if (auto it = st.looked_up.find(transaction); it != st.looked_up.end())
      return promise.deliver(it->second.relay);
  node_of(self).mcu_transactions().find(
      transaction, take,
      resume_in<std::optional<std::string>>(
          handle_of(self), [=](const cluster::result<std::optional<std::string>>& found) {
            auto& st = self->state;
            if (!found || !*found || **found == st.link->self()) {
              if (take) forget_relay(self, transaction);
              return promise.deliver(pipeline_actor{});
            }
            const auto& node = **found;
            pipeline_actor relay;
            if (auto it = st.looked_up.find(transaction); it != st.looked_up.end()) {
              relay = it->second.relay;
              if (take) st.looked_up.erase(it);
            } else {
              relay = spawn_mcu_data_relay(self->system(), st.link, node, transaction);
              if (!take) st.looked_up[transaction] = {relay, self->clock().now()};
            }
            if (take) {
              st.relays[relay.id()] = {relay, node};
              self->monitor(relay);
            }
            promise.deliver(relay);
          }));
}

void close_bridged(self_pointer self, const std::string& node, uint64_t socket) {
  self->state.link->send_op(node, {}, cluster_op::mcu_close, {}, socket, {});
}

// From the bus: an MCU operation of another node.
void run_operation(self_pointer self, const remote_operation& op) {
  auto& st = self->state;
  const std::pair<std::string, uint64_t> socket{op.node, op.connection};
  switch (static_cast<cluster_op>(op.op)) {
    case cluster_op::mcu_control:
      if (auto control = next_control(st.local)) control->send(net::make_frame(op.body));
      else log::debug("no MCU control socket here, attach or detach dropped");
      return;
    case cluster_op::mcu_open: {
      auto it = st.local.pending.find(op.channel);
      if (it == st.local.pending.end()) return close_bridged(self, op.node, op.connection);
      auto pipeline = it->second.pipeline;
      st.local.pending.erase(it);
      const auto number = next_data_socket_number();
      st.bridged[socket] = {pipeline, number};
      self->monitor(pipeline);
      self->send(pipeline, data_atom::value, st.link->socket_sink(op.node, op.connection), number);
      return;
    }
    case cluster_op::mcu_text:
      if (auto it = st.bridged.find(socket); it != st.bridged.end())
        self->send(it->second.pipeline, text_atom::value, op.body, it->second.number);
      return;
    case cluster_op::mcu_closed:
      if (auto it = st.bridged.find(socket); it != st.bridged.end()) {
        self->send(it->second.pipeline, closed_atom::value, it->second.number);
        st.bridged.erase(it);
      }
      return;
    default:
      return;
  }
}

cluster_mcu_broker_actor::behavior_type cluster_mcu_broker(self_pointer self,
                                                           cluster_link_pointer link,
                                                           mcu_broker_settings settings) {
  auto& st = self->state;
  st.link = std::move(link);
  st.local.settings = settings;
  self->delayed_send(self, settings.transaction_lifetime, sweep_atom::value);
  schedule_refresh(self);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (st.relays.erase(down.source.id()) != 0) return;
    // A pipeline ended: its sockets on other nodes close (it closed them itself unless it
    // died; a second close is harmless).
    for (auto it = st.bridged.begin(); it != st.bridged.end();) {
      if (it->second.pipeline.address() == down.source) {
        close_bridged(self, it->first.first, it->first.second);
        it = st.bridged.erase(it);
      } else {
        ++it;
      }
    }
  });
  self->set_exit_handler([=](caf::exit_msg& exit) {
    self->state.promises.fail_all();
    for (auto& [transaction, relay] : self->state.looked_up)
      caf::anon_send(relay.relay, detach_atom::value);
    // Relays in use end with their socket; at shutdown they must not wait for it.
    for (auto& [id, relay] : self->state.relays) caf::anon_send(relay.relay, detach_atom::value);
    self->quit(exit.reason);
  });
  return {
      [=](control_atom, std::shared_ptr<net::frame_sink>& sink) -> uint64_t {
        const auto number = add_control(self->state.local, std::move(sink));
        node_of(self).mcu_controls().admit(control_holder, 0, ignore_result<cluster::admission>());
        return number;
      },
      [=](closed_atom, uint64_t number) {
        const auto before = self->state.local.controls.size();
        remove_control(self->state.local, number);
        if (self->state.local.controls.size() != before)
          node_of(self).mcu_controls().release(control_holder, ignore_result<cluster::done>());
      },
      [=](attach_atom, int64_t handle,
          const pipeline_actor& pipeline) -> caf::typed_response_promise<int64_t> {
        auto promise = self->state.promises.keep(self->make_response_promise<int64_t>());
        if (handle != 0) {
          attach_with(self, handle, pipeline, promise);
          return promise.handle();
        }
        node_of(self).mcu_transactions().next_handle(resume_in<int64_t>(
            handle_of(self), [=](const cluster::result<int64_t>& allocated) {
              if (!allocated) return promise.deliver(int64_t{0});
              attach_with(self, *allocated, pipeline, promise);
            }));
        return promise.handle();
      },
      [=](claim_atom, const std::string& transaction,
          bool take) -> caf::typed_response_promise<pipeline_actor> {
        auto promise = self->state.promises.keep(self->make_response_promise<pipeline_actor>());
        auto& pending = self->state.local.pending;
        if (auto it = pending.find(transaction); it != pending.end()) {
          auto pipeline = it->second.pipeline;
          if (take) {
            pending.erase(it);
            // No other node may bind a socket to it any more.
            node_of(self).mcu_transactions().find(transaction, true,
                                                  ignore_result<std::optional<std::string>>());
          }
          promise.deliver(pipeline);
        } else if (transaction.empty() || transaction.size() > longest_transaction) {
          promise.deliver(pipeline_actor{});
        } else {
          claim_elsewhere(self, transaction, take, promise);
        }
        return promise.handle();
      },
      [=](detach_atom, int64_t handle) {
        send_control(self, net::make_frame(protocol::render_mcu_control("detach", "", handle)),
                     [](bool) {});
      },
      [=](sweep_atom) {
        auto& st = self->state;
        const auto now = self->clock().now();
        forget_old_transactions(st.local, now);
        const auto oldest = now - st.local.settings.transaction_lifetime;
        for (auto it = st.looked_up.begin(); it != st.looked_up.end();) {
          if (it->second.since < oldest) {
            caf::anon_send(it->second.relay, detach_atom::value);
            it = st.looked_up.erase(it);
          } else {
            ++it;
          }
        }
        self->delayed_send(self, st.local.settings.transaction_lifetime, sweep_atom::value);
      },
      [=](op_atom, const remote_operation& op) { run_operation(self, op); },
      [=](nodes_atom, const node_list& nodes) {
        auto& st = self->state;
        auto alive = [&](const std::string& node) {
          return std::binary_search(nodes.alive.begin(), nodes.alive.end(), node);
        };
        // A socket whose node died: the pipeline attaches again.
        for (auto it = st.bridged.begin(); it != st.bridged.end();) {
          if (!alive(it->first.first)) {
            self->send(it->second.pipeline, closed_atom::value, it->second.number);
            it = st.bridged.erase(it);
          } else {
            ++it;
          }
        }
        // A pipeline's node died: its sockets here close (the MCU sees them end); the
        // channel's new owner attaches anew.
        for (const auto& [socket, relay] : st.relays)
          if (!alive(relay.node)) st.link->close_socket(socket);
      },
      [=](rejoin_atom) { write_control_count(self); },
      [=](refresh_atom) {
        write_control_count(self);
        schedule_refresh(self);
      },
      run_resumed(),
  };
}

}  // namespace

cluster_mcu_broker_actor spawn_cluster_mcu_broker(caf::actor_system& system,
                                                  cluster_link_pointer link,
                                                  mcu_broker_settings settings) {
  return system.spawn(cluster_mcu_broker, std::move(link), settings);
}

}  // namespace kwm::actors
