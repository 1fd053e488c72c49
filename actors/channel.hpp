#pragma once
// The channel actor: the membership of one 1:1 call channel or group channel, the
// join/leave notices, and its own removal once empty (spec §3.9).
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "actors/actors.hpp"
#include "actors/metrics.hpp"
#include "actors/pipeline.hpp"

namespace kwm::actors {

struct channel_settings {
  // A channel that nobody joined is removed once it is older than this (the registry looks);
  // one whose last member left is removed at once.
  std::chrono::milliseconds empty_lifetime{60'000};
  uint32_t max_group_members = 1000;  // users per group channel (D20); 0 = unlimited
  // Live channels, 1:1 and groups (N7): in the process, and created by one user id (a call
  // it started, a group it joined first). 0 = unlimited.
  uint32_t max_channels = 100'000;
  uint32_t max_channels_per_user = 1024;
  metrics_pointer metrics = std::make_shared<server_metrics>();
  pipeline_settings_pointer pipelines;  // set with --enable-mcu-api
};

struct channel_member {
  connection_ref connection;
  uint64_t membership = 0;  // numbers the joins, so a replaced connection can tell which one ended
};

struct channel_state {
  static inline const char* name = "channel";

  std::string id;
  std::string group;  // empty for 1:1 channels
  std::map<std::string, channel_member> members;  // by user id, so lists come out sorted
  uint64_t memberships = 0;  // the last membership number handed out (starts at random)
  uint64_t list_key = 0;     // tells this channel's member lists apart in members' queues
  bool closed = false;
  pipeline_actor pipeline;  // set when the channel id matches --pipeline-forced-regexp
  channel_settings settings;
  user_directory_actor directory;
  channel_registry_actor registry;

  bool is_group() const { return !group.empty(); }
};

using channel_impl = channel_actor::stateful_base<channel_state>;

// `group` empty: a 1:1 call channel; otherwise the group channel '@' + group.
// `first`, when set, is a member from the start (the caller of a 1:1 call).
channel_actor spawn_channel(caf::actor_system& system, std::string id, std::string group,
                            std::optional<connection_ref> first, user_directory_actor directory,
                            channel_registry_actor registry, channel_settings settings);

}  // namespace kwm::actors
