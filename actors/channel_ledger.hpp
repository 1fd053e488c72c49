#pragma once
// The live channels of one registry, for the caps and the lifetime sweep of N7: who made
// each channel, how many each user made, and which ones have not been looked at once their
// lifetime passed. Shared by the single-node registry and the cluster registry (which counts
// the channels its node owns), so both apply --rtm-max-channels and
// --rtm-max-channels-per-user the same way.
#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/channel.hpp"

namespace kwm::actors {

class channel_ledger {
 public:
  using time_point = caf::actor_clock::time_point;

  // Whether one more channel fits: below --rtm-max-channels in all, and below
  // --rtm-max-channels-per-user for `creator` (nullopt: not made for a user, e.g. a channel
  // taken over from a dead node). 0 = unlimited.
  bool may_create(const channel_settings& settings,
                  const std::optional<std::string>& creator) const;

  // A new live channel, made at `now` (for `creator`, counted against its cap).
  void add(const caf::actor_addr& channel, std::string id, std::optional<std::string> creator,
           time_point now);
  // Forgets the channel; its id, or nullopt when it was not in the ledger.
  std::optional<std::string> remove(const caf::actor_addr& channel);

  // The ids of channels made at or before `cutoff` that were not returned before: each
  // channel is returned once in its life.
  std::vector<std::string> take_due(time_point cutoff);

  std::size_t size() const { return entries_.size(); }

 private:
  // Live channels by creation time (then id), each until it was returned by take_due.
  using creation_order = std::set<std::pair<time_point, std::string>>;
  struct entry {
    std::string id;
    std::optional<std::string> creator;
    creation_order::iterator created;  // unswept_.end() once returned by take_due
  };

  std::unordered_map<caf::actor_addr, entry> entries_;
  std::unordered_map<std::string, caf::actor_addr> address_of_;  // by id, for take_due
  std::unordered_map<std::string, uint32_t> created_by_user_;
  creation_order unswept_;
};

// How often a registry looks for channels that reached their lifetime: a quarter of it,
// between 10 ms and 1 s.
caf::actor_clock::duration_type sweep_period(const channel_settings& settings);

}  // namespace kwm::actors
