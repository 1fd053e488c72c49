#pragma once
// The channel registry: channel id → channel actor. It creates 1:1 channels (and group
// channels on first join) and forgets channels when they retire or die.
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <caf/actor_clock.hpp>

#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "actors/actors.hpp"
#include "actors/channel.hpp"

namespace kwm::actors {

struct channel_registry_state {
  static inline const char* name = "channel_registry";

  // Live channels by creation time (then id), for the lifetime sweep: each is visited once,
  // when it is `empty_lifetime` old.
  using creation_order = std::set<std::pair<caf::actor_clock::time_point, std::string>>;

  struct entry {
    std::string id;
    std::string creator;  // the user id whose call or first join made it
    creation_order::iterator created;
  };

  std::unordered_map<std::string, channel_actor> channels;
  // The reverse index, so a down message costs O(1) even with 100,000 channels (the soak
  // found a linear scan here saturating the registry).
  std::unordered_map<caf::actor_addr, entry> entries_by_address;
  // Live channels per creating user, for --rtm-max-channels-per-user (N7).
  std::unordered_map<std::string, uint32_t> created_by_user;
  creation_order unswept;
  user_directory_actor directory;
  channel_settings settings;
};

using channel_registry_impl = channel_registry_actor::stateful_base<channel_registry_state>;

channel_registry_actor spawn_channel_registry(caf::actor_system& system, user_directory_actor directory,
                                              channel_settings settings = {});

}  // namespace kwm::actors
