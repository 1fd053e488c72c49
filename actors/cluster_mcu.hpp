#pragma once
// The MCU in cluster mode (spec §3.17 across nodes, docs/cluster.md "MCU pipelines across
// nodes"): the broker's cluster twin and the relay of a data socket whose pipeline lives on
// another node. Spawned by app/ only with --cluster-redis and --enable-mcu-api.
#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "actors/cluster_link.hpp"
#include "actors/mcu_broker.hpp"

namespace kwm::actors {

// Control sockets of this node (their count in Redis), attaches sent here or on another
// node's control socket, transactions in Redis, data sockets bridged across nodes.
cluster_mcu_broker_actor spawn_cluster_mcu_broker(caf::actor_system& system,
                                                  cluster_link_pointer link,
                                                  mcu_broker_settings settings);

// The data socket of `transaction` on this node, for the pipeline on `node`.
pipeline_actor spawn_mcu_data_relay(caf::actor_system& system, cluster_link_pointer link,
                                    std::string node, std::string transaction);

}  // namespace kwm::actors
