#pragma once
// Connect keys across the cluster (spec §2, D5, D23): a key issued on any node is
// redeemable once, on any node, within its lifetime. Redis expires the key (PX) and the
// redemption is one atomic GET+DEL, so two nodes redeeming the same key at the same time
// cannot both succeed.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

class connect_key_store {
 public:
  virtual ~connect_key_store() = default;
  // Stores `grant` (the encoded auth record of the connect call) under `key`. A collision
  // with an existing key fails with failure::rejected: draw another key.
  virtual void issue(std::string key, std::string grant, callback<done> finished) = 0;
  // Removes the key and returns its grant; nullopt for keys that are unknown, used or
  // older than the lifetime.
  virtual void redeem(std::string key, callback<std::optional<std::string>> finished) = 0;
};

std::unique_ptr<connect_key_store> make_redis_connect_keys(redis_client& client, key_space keys,
                                                           std::chrono::milliseconds lifetime);

}  // namespace kwm::cluster
