// The user directory in cluster mode: this node's connections as on a single node, plus
// the cluster-wide cap and presence in Redis (cluster/user_connections.hpp). `lookup`
// answers with the local connections and one sink per other node holding the user, so a
// call rings every device, "taken elsewhere" and the hangup fallback reach every device,
// and the callers need no change (docs/cluster.md, "Calls across nodes").
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>

#include "actors/cluster_actors.hpp"
#include "actors/cluster_task.hpp"
#include "actors/open_promises.hpp"
#include "actors/user_directory.hpp"

namespace kwm::actors {
namespace {

struct cluster_directory_state {
  static inline const char* name = "cluster_directory";
  user_directory_state local;
  cluster_link_pointer link;
  open_promises promises;  // admit, count and lookup calls waiting for Redis
};

using self_pointer = cluster_directory_actor::stateful_pointer<cluster_directory_state>;

cluster_directory_actor handle_of(self_pointer self) {
  return caf::actor_cast<cluster_directory_actor>(self);
}

caf::error cluster_unavailable() {
  return caf::make_error(caf::sec::request_receiver_down);
}

void admit_locally(self_pointer self, const connection_ref& connection) {
  remember_connection(self->state.local, connection);
  if (!connection.user_id.empty()) self->state.link->add_connection(connection);
  self->monitor(connection.actor);
}

// `then` with every live connection of `user`: the local ones and one sink per other node
// holding the user (only the local ones while Redis is unreachable).
void with_connections(self_pointer self, const std::string& user,
                      std::function<void(connection_list)> then) {
  self->state.link->node().users().locate(
      user,
      resume_in<std::vector<cluster::node_connections>>(
          handle_of(self),
          [=](const cluster::result<std::vector<cluster::node_connections>>& nodes) {
            auto& users = self->state.local.users;
            connection_list found;
            if (auto it = users.find(user); it != users.end()) found = it->second;
            if (nodes) {
              auto& link = *self->state.link;
              for (const auto& node : *nodes)
                if (node.node != link.self() && node.connections != 0)
                  found.push_back(connection_ref{user, {}, {}, link.user_sink(node.node, user)});
            }
            then(std::move(found));
          }));
}

// This node's exact count of every user's connections, with the hashes' expiry renewed.
// Also what keeps a user's presence alive: the hash expires one expiry after its last
// write, however long the connection lives.
void write_counts(self_pointer self) {
  std::vector<std::pair<std::string, uint64_t>> counts;
  for (const auto& [user, list] : self->state.local.users) counts.emplace_back(user, list.size());
  if (!counts.empty())
    self->state.link->node().users().resync(std::move(counts), ignore_result<cluster::done>());
}

void schedule_refresh(self_pointer self) {
  self->delayed_send(self, self->state.link->node().timing().user_expiry / 3, refresh_atom::value);
}

cluster_directory_actor::behavior_type cluster_directory(self_pointer self,
                                                         cluster_link_pointer link,
                                                         metrics_pointer metrics) {
  self->state.local.metrics = std::move(metrics);
  self->state.link = std::move(link);
  schedule_refresh(self);
  self->set_down_handler([=](caf::down_msg& down) {
    auto user = forget_connection(self->state.local, down.source);
    if (!user || user->empty()) return;
    auto& link = *self->state.link;
    link.remove_connection(down.source.id(), *user);
    link.node().users().release(*user, ignore_result<cluster::done>());
  });
  return {
      [=](admit_atom, const connection_ref& connection,
          uint32_t limit) -> caf::typed_response_promise<bool> {
        auto promise = self->state.promises.keep(self->make_response_promise<bool>());
        if (connection.user_id.empty()) {  // id-less anonymous: never addressable, never counted
          admit_locally(self, connection);
          promise.deliver(true);
          return promise.handle();
        }
        self->state.link->node().users().admit(
            connection.user_id, limit,
            resume_in<cluster::admission>(
                handle_of(self), [=](const cluster::result<cluster::admission>& outcome) mutable {
                  if (!outcome) return (void)promise.deliver(cluster_unavailable());
                  if (outcome->admitted) admit_locally(self, connection);
                  promise.deliver(outcome->admitted);
                }));
        return promise.handle();
      },
      [=](count_atom, const std::string& user) -> caf::typed_response_promise<uint64_t> {
        auto promise = self->state.promises.keep(self->make_response_promise<uint64_t>());
        self->state.link->node().users().locate(
            user,
            resume_in<std::vector<cluster::node_connections>>(
                handle_of(self),
                [=](const cluster::result<std::vector<cluster::node_connections>>& nodes) mutable {
                  if (!nodes) return (void)promise.deliver(cluster_unavailable());
                  uint64_t total = 0;
                  for (const auto& node : *nodes) total += node.connections;
                  promise.deliver(total);
                }));
        return promise.handle();
      },
      [=](lookup_atom, const std::string& user) -> caf::typed_response_promise<connection_list> {
        auto promise = self->state.promises.keep(self->make_response_promise<connection_list>());
        with_connections(self, user,
                         [promise](connection_list found) { promise.deliver(std::move(found)); });
        return promise.handle();
      },
      [=](deliver_atom, const std::string& user, const net::frame& frame) {
        with_connections(self, user, [frame](const connection_list& found) {
          for (const auto& connection : found) connection.sink->send(frame);
        });
      },
      [=](shutdown_atom) {
        for (auto& [address, user] : self->state.local.user_of)
          caf::anon_send_exit(address, caf::exit_reason::user_shutdown);
        self->state.promises.fail_all();
        self->quit(caf::exit_reason::user_shutdown);
      },
      [=](rejoin_atom) { write_counts(self); },
      [=](refresh_atom) {
        write_counts(self);
        schedule_refresh(self);
      },
      run_resumed(),
  };
}

}  // namespace

cluster_directory_actor spawn_cluster_directory(caf::actor_system& system,
                                                cluster_link_pointer link,
                                                metrics_pointer metrics) {
  return system.spawn(cluster_directory, std::move(link), std::move(metrics));
}

}  // namespace kwm::actors
