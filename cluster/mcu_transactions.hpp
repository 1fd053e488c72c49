#pragma once
// The MCU across the cluster (spec §3.17, D23): a pipeline on one node, its attach sent on a
// control socket of any node, and the data socket the MCU then opens reaching any node.
//
// * Handles are numbered by one counter in Redis, so two nodes never give the MCU the same
//   handle for different pipelines.
// * A transaction is recorded with the node whose pipeline waits for it, for the lifetime
//   of a transaction (30 s). The node the data socket reaches looks it up (a refused
//   upgrade must not use it up, D11) and then takes it with one atomic GET+DEL, so two nodes
//   cannot both bind a data socket to it.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

class mcu_transaction_store {
 public:
  virtual ~mcu_transaction_store() = default;
  // Records that the pipeline of `transaction` waits on this node. A transaction already
  // recorded fails with failure::rejected: draw another.
  virtual void issue(std::string transaction, callback<done> finished) = 0;
  // The node whose pipeline waits for `transaction`, nullopt when it is unknown, used or
  // older than the lifetime. With `take` it is used up.
  virtual void find(std::string transaction, bool take,
                    callback<std::optional<std::string>> finished) = 0;
  // The next MCU handle (1, 2, ... for the whole cluster).
  virtual void next_handle(callback<int64_t> finished) = 0;
};

std::unique_ptr<mcu_transaction_store> make_redis_mcu_transactions(
    redis_client& client, key_space keys, std::string node, std::chrono::milliseconds lifetime);

}  // namespace kwm::cluster
