#pragma once
// The channel registry: channel id → channel actor. It creates 1:1 channels (and group
// channels on first join) and forgets channels when they retire or die.
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>
#include <unordered_map>

#include "actors/actors.hpp"
#include "actors/channel.hpp"
#include "actors/channel_ledger.hpp"

namespace kwm::actors {

struct channel_registry_state {
  static inline const char* name = "channel_registry";

  std::unordered_map<std::string, channel_actor> channels;
  // Creators, caps and the lifetime sweep (N7); also the reverse index, so a down message
  // costs O(1) even with 100,000 channels (the soak found a linear scan here saturating the
  // registry).
  channel_ledger ledger;
  user_directory_actor directory;
  channel_settings settings;
};

using channel_registry_impl = channel_registry_actor::stateful_base<channel_registry_state>;

channel_registry_actor spawn_channel_registry(caf::actor_system& system, user_directory_actor directory,
                                              channel_settings settings = {});

}  // namespace kwm::actors
