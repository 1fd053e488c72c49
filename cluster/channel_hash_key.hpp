#pragma once
// The channel-hash key (spec §3.8) shared by every node (D23): a hash made on one node
// must validate on all. The first node to start puts its random key into Redis (SET NX);
// every node then uses whatever Redis holds. If Redis lost it (restart without
// persistence) the next ensure() puts the caller's key back, and as every node holds the
// same key, any of them restores the same value.
#include <memory>
#include <string>

#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

class channel_hash_key_store {
 public:
  virtual ~channel_hash_key_store() = default;
  // Stores `candidate` unless a key exists; returns the cluster's key.
  virtual void ensure(std::string candidate, callback<std::string> finished) = 0;
};

std::unique_ptr<channel_hash_key_store> make_redis_channel_hash_key(redis_client& client,
                                                                    key_space keys);

}  // namespace kwm::cluster
