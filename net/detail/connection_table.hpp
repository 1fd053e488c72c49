#pragma once
// Admission of connections to one listener (spec §1.12, D17, D20): the global cap
// (--max-connections), at which idle HTTP connections are closed to admit new ones, and the
// optional per-address cap (--max-connections-per-address). Thread-safe and independent of
// how sessions are scheduled: the table only posts a session's shutdown to that session's
// own executor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/intrusive/list.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "net/client_address.hpp"

namespace kwm::net {

class session_base;

class connection_table {
 public:
  // An HTTP session's place in the eviction order (oldest first). Linked while the session
  // may be closed to make room: from accept until its request head is complete, and again
  // from the moment its response is written until the next head is complete.
  class evictable : public boost::intrusive::list_base_hook<> {
   public:
    evictable(std::weak_ptr<session_base> session, boost::asio::any_io_executor executor)
        : session_(std::move(session)), executor_(std::move(executor)) {}
    evictable(const evictable&) = delete;
    evictable& operator=(const evictable&) = delete;

   private:
    friend class connection_table;
    std::weak_ptr<session_base> session_;
    boost::asio::any_io_executor executor_;
    bool evicted_ = false;
  };

  connection_table(std::size_t max_connections, std::size_t max_per_address);

  // An accepted connection, counted under `address` (nullopt for a trusted proxy, whose
  // clients are counted per request with claim()). At the global cap the session that has
  // been evictable longest is told to shut down and the new connection takes its place.
  // False: refuse the connection.
  bool admit(const std::optional<address_key>& address);
  // The end of an admitted connection; `address` is what it is counted under at that time.
  void release(const std::optional<address_key>& address);
  // The per-address count alone, for a client behind a trusted proxy; false at the cap.
  bool claim(const address_key& address);
  void unclaim(const address_key& address);
  bool caps_addresses() const { return max_per_address_ != 0; }

  // Called by the session that owns `entry`; idempotent. An entry that was evicted stays out.
  void make_evictable(evictable& entry);
  void make_unevictable(evictable& entry);
  // From the owner's destructor.
  void forget(evictable& entry);

  std::size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  struct key_hash {
    std::size_t operator()(const address_key& key) const noexcept {
      return std::hash<uint64_t>{}(key.bits) ^ static_cast<std::size_t>(key.is_v4);
    }
  };

  // Evicted sessions still hold their descriptors until they have closed; while this many
  // are on their way out, further connections at the cap are refused, so the listener never
  // overshoots --max-connections by more than this (the descriptor reserve is 64).
  static constexpr std::size_t max_evictions_in_flight = 16;

  bool at_address_cap_locked(const address_key& address) const;
  void uncount_locked(const address_key& address);

  const std::size_t max_connections_;
  const std::size_t max_per_address_;
  std::mutex mutex_;
  boost::intrusive::list<evictable> evictable_;  // the longest evictable first
  std::unordered_map<address_key, std::size_t, key_hash> per_address_;
  std::size_t evictions_in_flight_ = 0;
  std::atomic<std::size_t> open_{0};
};

}  // namespace kwm::net
