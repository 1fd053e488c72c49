#pragma once
// Who sequences a channel (spec §3.9 across nodes): every 1:1 channel and group has one
// owner node at a time, which runs its channel actor. Ownership is a lease in Redis with
// a fencing token:
//
// * acquire: the lease is taken when nobody holds it or its holder is dead in the node
//   registry; every acquisition draws a new fencing token, larger than all before it (the
//   counter starts from Redis's clock in microseconds, so it keeps growing even after
//   Redis lost its data).
// * A lease stays valid while its holder is alive: the node's heartbeat renews all its
//   leases at once, so failover takes one node TTL, and an owner with thousands of
//   channels does not write per channel per second. The lease key's own expiry (renewed
//   rarely, in batches) only collects channels of nodes that died.
// * Member records are written by the owner only: every write names the fencing token,
//   and Redis refuses it when the lease moved on, so an owner that lost its lease (paused,
//   cut off) cannot overwrite its successor's list.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

struct lease {
  std::string owner;   // the holder's node id; empty when no alive node holds it
  uint64_t fence = 0;  // the holder's fencing token
  bool mine = false;   // held by this node
  bool taken = false;  // this call acquired it (first time, or taken over from a dead node)
};

using member_records = std::vector<std::pair<std::string, std::string>>;  // user → record

class channel_leases {
 public:
  virtual ~channel_leases() = default;
  // Becomes the channel's owner unless an alive node holds it; returns the holder.
  virtual void acquire(std::string channel, callback<lease> finished) = 0;
  // The holder, if alive; never acquires.
  virtual void owner(std::string channel, callback<lease> finished) = 0;
  // Refreshes the expiry of owned leases (and their member records); returns the channels
  // of `owned` that are no longer this node's (taken over while it was cut off).
  virtual void renew(std::vector<std::pair<std::string, uint64_t>> owned,
                     callback<std::vector<std::string>> finished) = 0;
  // Gives the channel up (it ended, or the node drains); false when it was not ours.
  virtual void release(std::string channel, uint64_t fence, callback<bool> finished) = 0;

  // Fenced member writes: false when `fence` is not the current lease's token.
  virtual void put_member(std::string channel, uint64_t fence, std::string user, std::string record,
                          callback<bool> finished) = 0;
  virtual void remove_member(std::string channel, uint64_t fence, std::string user,
                             callback<bool> finished) = 0;
  // What the last owner wrote: the new owner's starting point after a takeover.
  virtual void members(std::string channel, callback<member_records> finished) = 0;
};

std::unique_ptr<channel_leases> make_redis_channel_leases(redis_client& client, key_space keys,
                                                          std::string node,
                                                          std::chrono::milliseconds expiry);

}  // namespace kwm::cluster
