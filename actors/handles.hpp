#pragma once
// Helpers for maps of actor handles kept up to date by monitors.
#include <caf/actor_addr.hpp>

namespace kwm::actors {

// Removes the entry whose handle belongs to `address` (from a down message).
template <class Map>
bool erase_by_address(Map& handles, const caf::actor_addr& address) {
  for (auto it = handles.begin(); it != handles.end(); ++it)
    if (it->second.address() == address) {
      handles.erase(it);
      return true;
    }
  return false;
}

}  // namespace kwm::actors
