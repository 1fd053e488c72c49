#pragma once
// The cluster twins of the single-node actors and the actors only cluster mode has
// (interfaces in actors/actors.hpp, design in docs/cluster.md). Spawned by app/ only with
// --cluster-redis.
#include <caf/fwd.hpp>

#include <chrono>
#include <functional>

#include "actors/actors.hpp"
#include "actors/admin_tokens.hpp"
#include "actors/channel.hpp"
#include "actors/cluster_link.hpp"
#include "actors/metrics.hpp"
#include "actors/token_issuer.hpp"

namespace kwm::actors {

// Connect keys in Redis (D5 across nodes); the cap counts the keys this node issued.
cluster_token_issuer_actor spawn_cluster_token_issuer(caf::actor_system& system,
                                                      cluster_link_pointer link,
                                                      token_issuer_settings settings);

// Admin token records and revocations in Redis, shared by every node.
cluster_admin_tokens_actor spawn_cluster_admin_tokens(caf::actor_system& system,
                                                      cluster_link_pointer link,
                                                      admin_token_settings settings);

// Local connections as the single-node directory, plus the cluster-wide cap, counts and
// presence (lookup adds one sink per other node holding the user).
cluster_directory_actor spawn_cluster_directory(caf::actor_system& system,
                                                cluster_link_pointer link, metrics_pointer metrics);

// Channels owned here (leases) and proxies of channels owned elsewhere.
cluster_registry_actor spawn_cluster_registry(caf::actor_system& system, cluster_link_pointer link,
                                              user_directory_actor directory,
                                              channel_settings settings);

// The registry's drain (drain_atom), for code outside actors: `then` runs once the notice is
// out, or after `timeout` (Redis slow or down), on an actor thread.
void hand_channels_over(caf::actor_system& system, cluster_registry_actor registry,
                        std::chrono::milliseconds timeout, std::function<void()> then);

// A channel owned by `owner`, as the connections of this node see it; it retires itself from
// `registry` when it ends.
remote_channel_actor spawn_remote_channel(caf::actor_system& system, cluster_link_pointer link,
                                          std::string id, std::string owner,
                                          channel_registry_actor registry);

// The bus's receiving end for operations on channels owned here, and for the MCU broker
// (`mcu`, invalid without the MCU API).
cluster_gateway_actor spawn_cluster_gateway(caf::actor_system& system, cluster_link_pointer link,
                                            cluster_registry_actor registry,
                                            cluster_mcu_broker_actor mcu);

}  // namespace kwm::actors
