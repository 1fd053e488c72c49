#include "actors/user_directory.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>

namespace kwm::actors {

void remember_connection(user_directory_state& st, const connection_ref& connection) {
  if (!connection.user_id.empty()) {
    auto& list = st.users[connection.user_id];
    if (list.empty()) server_metrics::bump(st.metrics->distinct_users_connected_total);
    list.push_back(connection);
  }
  server_metrics::bump(st.metrics->connections_connected_total);
  st.user_of.emplace(connection.actor.address(), connection.user_id);
}

std::optional<std::string> forget_connection(user_directory_state& st, const caf::actor_addr& address) {
  auto it = st.user_of.find(address);
  if (it == st.user_of.end()) return std::nullopt;
  server_metrics::bump(st.metrics->connections_disconnected_total);
  std::string user = std::move(it->second);
  st.user_of.erase(it);
  if (user.empty()) return user;
  auto users_it = st.users.find(user);
  if (users_it == st.users.end()) return user;
  auto& list = users_it->second;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const connection_ref& c) { return c.actor.address() == address; }),
             list.end());
  if (!list.empty()) return user;
  st.users.erase(users_it);
  server_metrics::bump(st.metrics->distinct_users_cleanedup_total);
  return user;
}

namespace {

user_directory_actor::behavior_type user_directory(
    user_directory_actor::stateful_pointer<user_directory_state> self, metrics_pointer metrics) {
  self->state.metrics = std::move(metrics);
  self->set_down_handler([=](caf::down_msg& down) { forget_connection(self->state, down.source); });
  return {
      [=](admit_atom, connection_ref& connection, uint32_t limit) -> bool {
        auto& st = self->state;
        if (!connection.user_id.empty()) {
          auto it = st.users.find(connection.user_id);
          if (limit != 0 && it != st.users.end() && it->second.size() >= limit) return false;
        }
        remember_connection(st, connection);
        self->monitor(connection.actor);
        return true;
      },
      [=](count_atom, const std::string& user) -> uint64_t {
        auto it = self->state.users.find(user);
        return it == self->state.users.end() ? 0 : it->second.size();
      },
      [=](lookup_atom, const std::string& user) -> connection_list {
        auto it = self->state.users.find(user);
        return it == self->state.users.end() ? connection_list{} : it->second;
      },
      [=](shutdown_atom) {
        for (auto& [address, user] : self->state.user_of)
          caf::anon_send_exit(address, caf::exit_reason::user_shutdown);
        self->quit(caf::exit_reason::user_shutdown);
      },
  };
}

}  // namespace

user_directory_actor spawn_user_directory(caf::actor_system& system, metrics_pointer metrics) {
  return system.spawn(user_directory, std::move(metrics));
}

}  // namespace kwm::actors
