#include "net/detail/connection_table.hpp"

#include <boost/asio/post.hpp>

#include "net/detail/session_base.hpp"

namespace kwm::net {

connection_table::connection_table(std::size_t max_connections, std::size_t max_per_address)
    : max_connections_(max_connections), max_per_address_(max_per_address) {}

bool connection_table::at_address_cap_locked(const address_key& address) const {
  const auto it = per_address_.find(address);
  return it != per_address_.end() && it->second >= max_per_address_;
}

void connection_table::uncount_locked(const address_key& address) {
  const auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

bool connection_table::admit(const std::optional<address_key>& address) {
  std::shared_ptr<session_base> victim;
  boost::asio::any_io_executor victim_executor;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const bool per_address = address && caps_addresses();
    if (per_address && at_address_cap_locked(*address)) return false;
    if (open_.load(std::memory_order_relaxed) >= max_connections_) {
      if (evictions_in_flight_ >= max_evictions_in_flight) return false;
      while (!victim && !evictable_.empty()) {
        auto& entry = evictable_.front();
        evictable_.pop_front();
        // A session whose last owner is gone is already closing; its destructor forgets it.
        if ((victim = entry.session_.lock())) {
          entry.evicted_ = true;
          ++evictions_in_flight_;
          victim_executor = entry.executor_;
        }
      }
      if (!victim) return false;
    }
    open_.fetch_add(1, std::memory_order_relaxed);
    if (per_address) ++per_address_[*address];
  }
  if (victim) boost::asio::post(victim_executor, [victim] { victim->shutdown(); });
  return true;
}

void connection_table::release(const std::optional<address_key>& address) {
  if (address && caps_addresses()) {
    std::lock_guard<std::mutex> guard(mutex_);
    uncount_locked(*address);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
}

bool connection_table::claim(const address_key& address) {
  if (!caps_addresses()) return true;
  std::lock_guard<std::mutex> guard(mutex_);
  if (at_address_cap_locked(address)) return false;
  ++per_address_[address];
  return true;
}

void connection_table::unclaim(const address_key& address) {
  if (!caps_addresses()) return;
  std::lock_guard<std::mutex> guard(mutex_);
  uncount_locked(address);
}

void connection_table::make_evictable(evictable& entry) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!entry.is_linked() && !entry.evicted_) evictable_.push_back(entry);
}

void connection_table::make_unevictable(evictable& entry) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (entry.is_linked()) evictable_.erase(evictable_.iterator_to(entry));
}

void connection_table::forget(evictable& entry) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (entry.is_linked()) evictable_.erase(evictable_.iterator_to(entry));
  if (entry.evicted_) --evictions_in_flight_;
}

}  // namespace kwm::net
