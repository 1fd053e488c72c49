#include "actors/channel_ledger.hpp"

#include <algorithm>
#include <chrono>

namespace kwm::actors {

bool channel_ledger::may_create(const channel_settings& settings,
                                const std::optional<std::string>& creator) const {
  if (settings.max_channels != 0 && entries_.size() >= settings.max_channels) return false;
  if (settings.max_channels_per_user == 0 || !creator) return true;
  const auto count = created_by_user_.find(*creator);
  return count == created_by_user_.end() || count->second < settings.max_channels_per_user;
}

void channel_ledger::add(const caf::actor_addr& channel, std::string id,
                         std::optional<std::string> creator, time_point now) {
  if (creator) ++created_by_user_[*creator];
  const auto created = unswept_.emplace(now, id).first;
  address_of_.emplace(id, channel);
  entries_.emplace(channel, entry{std::move(id), std::move(creator), created});
}

std::optional<std::string> channel_ledger::remove(const caf::actor_addr& channel) {
  auto found = entries_.find(channel);
  if (found == entries_.end()) return std::nullopt;
  auto& [id, creator, created] = found->second;
  if (creator) {
    if (auto count = created_by_user_.find(*creator);
        count != created_by_user_.end() && --count->second == 0)
      created_by_user_.erase(count);
  }
  if (created != unswept_.end()) unswept_.erase(created);
  address_of_.erase(id);
  auto removed = std::move(id);
  entries_.erase(found);
  return removed;
}

std::vector<std::string> channel_ledger::take_due(time_point cutoff) {
  std::vector<std::string> due;
  while (!unswept_.empty() && unswept_.begin()->first <= cutoff) {
    auto node = unswept_.extract(unswept_.begin());
    auto& id = node.value().second;
    if (auto address = address_of_.find(id); address != address_of_.end())
      entries_.at(address->second).created = unswept_.end();
    due.push_back(std::move(id));
  }
  return due;
}

caf::actor_clock::duration_type sweep_period(const channel_settings& settings) {
  const auto quarter =
      std::chrono::duration_cast<caf::actor_clock::duration_type>(settings.empty_lifetime) / 4;
  return std::clamp<caf::actor_clock::duration_type>(quarter, std::chrono::milliseconds(10),
                                                     std::chrono::seconds(1));
}

}  // namespace kwm::actors
