#pragma once
// The user directory: which live connections each user id has (spec §3.1 item 2).
// Connections are monitored, so a dead handle never lingers.
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <optional>
#include <string>
#include <unordered_map>

#include "actors/actors.hpp"
#include "actors/metrics.hpp"

namespace kwm::actors {

struct user_directory_state {
  static inline const char* name = "user_directory";

  std::unordered_map<std::string, connection_list> users;
  // Every admitted connection, including id-less anonymous ones, by address.
  std::unordered_map<caf::actor_addr, std::string> user_of;
  metrics_pointer metrics;
};

// Shared with the cluster twin (actors/cluster_directory.cpp): the local bookkeeping of an
// admitted connection, and of one that ended (returns its user id; nullopt when unknown).
void remember_connection(user_directory_state& st, const connection_ref& connection);
std::optional<std::string> forget_connection(user_directory_state& st, const caf::actor_addr& address);

using user_directory_impl = user_directory_actor::stateful_base<user_directory_state>;

user_directory_actor spawn_user_directory(caf::actor_system& system,
                                          metrics_pointer metrics = std::make_shared<server_metrics>());

}  // namespace kwm::actors
