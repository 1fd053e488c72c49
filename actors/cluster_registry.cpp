// The channel registry in cluster mode: every channel has one owner node (a lease in
// Redis, cluster/channel_leases.hpp). Channels owned here are ordinary channel actors;
// channels owned elsewhere are `remote_channel` proxies, so connections talk to a
// channel_actor handle either way (docs/cluster.md, "Ownership, leases and failover").
//
// * create: the caller's node owns a new 1:1 channel. The lease is acquired in the
//   background: it is written over the same Redis connection before the call reaches the
//   callee's node, so that node finds the owner.
// * group, lookup: owned here → the local actor; held by another alive node → a proxy;
//   a group nobody holds is taken here.
// * Caps and lifetime (N7), as on a single node but per node: --rtm-max-channels counts the
//   channels this node owns, --rtm-max-channels-per-user those this node made for a user
//   (a call started here, a group first joined here or through this node's gateway);
//   proxies are not counted (they stand for channels other nodes count). An owned channel
//   that nobody joined goes after its lifetime (the sweep); one that empties goes at once.
// * When an owner dies, the proxies of its channels race for the lease: the winner's
//   proxy hands its members to a new local channel, the others point theirs at the winner.
// * An owner that finds its lease taken (it was paused or cut off past the node TTL) hands
//   the channel over: a proxy to the new owner replaces it, and its members rejoin there.
// * Drain (SIGTERM): the node gives up every lease and says so; the other nodes' proxies
//   then race for the leases as after a death, while this node still says goodbye.
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "actors/channel.hpp"
#include "actors/channel_ledger.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/cluster_task.hpp"
#include "actors/event_log.hpp"
#include "actors/open_promises.hpp"
#include "protocol/random.hpp"
#include "protocol/webrtc_rules.hpp"

namespace kwm::actors {
namespace {

constexpr std::chrono::seconds renew_interval{60};

struct owned_channel {
  channel_actor actor;
  uint64_t fence = 0;  // 0 while the lease could not be written (Redis unreachable)
};

struct proxy_channel {
  remote_channel_actor actor;
  std::string owner;
};

struct cluster_registry_state {
  static inline const char* name = "cluster_registry";
  cluster_link_pointer link;
  user_directory_actor directory;
  channel_settings settings;
  std::unordered_map<std::string, owned_channel> owned;
  std::unordered_map<std::string, proxy_channel> proxies;
  std::unordered_map<caf::actor_addr, std::string> ids_by_address;  // owned and proxies
  channel_ledger ledger;  // the owned channels: creators, caps, lifetime sweep
  open_promises promises;  // group, lookup and owned calls waiting for Redis
  // Resolutions waiting for a lease call, by channel id: later requests for the same id
  // join the first one's answer.
  std::unordered_map<std::string, std::vector<std::function<void(const channel_actor&)>>> pending;
  // Set by the drain: the leases are given up, and no renewal or rejoin takes them back.
  bool draining = false;
};

using self_pointer = cluster_registry_actor::stateful_pointer<cluster_registry_state>;

cluster_registry_actor handle_of(self_pointer self) {
  return caf::actor_cast<cluster_registry_actor>(self);
}

std::string group_of(const std::string& id) {
  return protocol::is_group_channel_id(id) ? id.substr(1) : std::string();
}

void count_owned(self_pointer self) {
  self->state.link->channels_owned.store(static_cast<int64_t>(self->state.owned.size()),
                                         std::memory_order_relaxed);
}

// `creator`: the user it is made for (nullopt for a channel taken over, not made).
channel_actor spawn_owned(self_pointer self, const std::string& id, uint64_t fence,
                          std::optional<std::string> creator,
                          std::optional<connection_ref> first = std::nullopt) {
  auto& st = self->state;
  auto actor = spawn_channel(self->system(), id, group_of(id), std::move(first), st.directory,
                             caf::actor_cast<channel_registry_actor>(self), st.settings);
  self->monitor(actor);
  server_metrics::bump(st.settings.metrics->channels_created_total);
  if (protocol::is_group_channel_id(id))
    server_metrics::add(st.settings.metrics->group_channels_current, +1);
  st.ids_by_address[actor.address()] = id;
  st.ledger.add(actor.address(), id, std::move(creator), self->clock().now());
  st.owned[id] = owned_channel{actor, fence};
  if (fence != 0) st.link->owned_fence(id, fence);
  count_owned(self);
  return actor;
}

channel_actor spawn_proxy(self_pointer self, const std::string& id, const std::string& owner,
                          uint64_t fence) {
  auto& st = self->state;
  st.link->known_fence(id, fence);
  auto actor = spawn_remote_channel(self->system(), st.link, id, owner,
                                    caf::actor_cast<channel_registry_actor>(self));
  self->monitor(actor);
  st.ids_by_address[actor.address()] = id;
  st.proxies[id] = proxy_channel{actor, owner};
  return actor;
}

// The owned channels whose lease is written, with their tokens.
std::vector<std::pair<std::string, uint64_t>> written_leases(const cluster_registry_state& st) {
  std::vector<std::pair<std::string, uint64_t>> leases;
  for (const auto& [id, channel] : st.owned)
    if (channel.fence != 0) leases.emplace_back(id, channel.fence);
  return leases;
}

void release_lease(cluster_registry_state& st, const std::string& id, uint64_t fence) {
  st.link->node().leases().release(id, fence, ignore_result<bool>());
}

// The bookkeeping of an owned channel that ends here or moves to another node.
void drop_owned(self_pointer self, std::unordered_map<std::string, owned_channel>::iterator it) {
  auto& st = self->state;
  auto& metrics = *st.settings.metrics;
  server_metrics::bump(metrics.channels_cleanedup_total);
  if (protocol::is_group_channel_id(it->first))
    server_metrics::add(metrics.group_channels_current, -1);
  st.ledger.remove(it->second.actor.address());
  st.owned.erase(it);
  count_owned(self);
}

void forget(self_pointer self, const caf::actor_addr& address) {
  auto& st = self->state;
  auto id = st.ids_by_address.find(address);
  if (id == st.ids_by_address.end()) return;
  if (auto it = st.owned.find(id->second);
      it != st.owned.end() && it->second.actor.address() == address) {
    if (it->second.fence != 0) release_lease(st, id->second, it->second.fence);
    drop_owned(self, it);
  }
  if (auto it = st.proxies.find(id->second);
      it != st.proxies.end() && it->second.actor.address() == address)
    st.proxies.erase(it);
  // Tokens go with the last actor of the channel here (the link keeps only known channels).
  if (!st.owned.count(id->second)) {
    st.link->owned_fence(id->second, 0);
    if (!st.proxies.count(id->second)) st.link->known_fence(id->second, 0);
  }
  st.ids_by_address.erase(id);
}

// The known handle for `id`, or an invalid one.
channel_actor known(cluster_registry_state& st, const std::string& id) {
  if (auto it = st.owned.find(id); it != st.owned.end()) return it->second.actor;
  if (auto it = st.proxies.find(id); it != st.proxies.end()) return it->second.actor;
  return {};
}

// Runs `next` with the channel once a lease call (acquire or owner) has answered; calls
// for the same id meanwhile share that answer. A channel made here is made for `creator`
// (the first caller's): an invalid handle, and the lease given back, when that passes a cap.
void resolve(self_pointer self, const std::string& id, bool take,
             std::optional<std::string> creator, std::function<void(const channel_actor&)> next) {
  auto& st = self->state;
  if (auto handle = known(st, id)) return next(handle);
  auto& waiting = st.pending[id];
  waiting.push_back(std::move(next));
  if (waiting.size() > 1) return;
  auto answer =
      resume_in<cluster::lease>(handle_of(self), [=](const cluster::result<cluster::lease>& lease) {
        auto& st = self->state;
        channel_actor found = known(st, id);
        if (!found && lease) {
          if (lease->mine && (take || protocol::is_group_channel_id(id))) {
            if (st.ledger.may_create(st.settings, creator))
              found = spawn_owned(self, id, lease->fence, creator);
            else
              release_lease(st, id, lease->fence);
          } else if (!lease->mine && !lease->owner.empty())
            found = spawn_proxy(self, id, lease->owner, lease->fence);
        }
        auto callbacks = std::move(st.pending[id]);
        st.pending.erase(id);
        for (auto& callback : callbacks) callback(found);
      });
  if (take)
    st.link->node().leases().acquire(id, std::move(answer));
  else
    st.link->node().leases().owner(id, std::move(answer));
}

auto deliver_to(shared_promise<channel_actor> promise) {
  return [promise](const channel_actor& channel) { promise.deliver(channel); };
}

// A proxy whose owner died: take the channel over, or follow whoever did.
void take_over(self_pointer self, const std::string& id, remote_channel_actor proxy) {
  self->state.link->node().leases().acquire(
      id,
      resume_in<cluster::lease>(handle_of(self), [=](const cluster::result<cluster::lease>& lease) {
        auto& st = self->state;
        if (!lease || lease->owner.empty()) return;  // tried again at the next change of nodes
        auto followed = st.proxies.find(id);
        // Still the same owner (a draining node that could not give its lease up): nothing
        // moved, so the members stay; its death, later, is the next change of nodes.
        if (!lease->mine && followed != st.proxies.end() && followed->second.owner == lease->owner)
          return;
        if (lease->mine) {
          auto local = known(st, id);
          // Kept even past --rtm-max-channels: its members are already in it.
          if (!st.owned.count(id)) local = spawn_owned(self, id, lease->fence, std::nullopt);
          st.proxies.erase(id);
          log::info("cluster channel taken over", {{"channel", id}});
          return self->send(proxy, retarget_atom::value, local, std::string(), lease->fence);
        }
        // (A proxy that ended meanwhile left nothing to follow: no token to keep for it.)
        if (followed != st.proxies.end()) {
          followed->second.owner = lease->owner;
          st.link->known_fence(id, lease->fence);
        }
        self->send(proxy, retarget_atom::value, channel_actor{}, lease->owner, lease->fence);
      }));
}

// Another node holds the lease of a channel owned here (this node was paused or cut off
// past the node TTL, and the others took it over): from now on it is reached through a
// proxy, and the channel actor sends its members there.
void hand_over(self_pointer self, const std::string& id, const cluster::lease& lease) {
  auto& st = self->state;
  auto it = st.owned.find(id);
  if (it == st.owned.end()) return;
  const auto channel = it->second.actor;
  drop_owned(self, it);
  log::warn("cluster channel handed over: another node holds its lease",
            {{"channel", id}, {"owner", lease.owner}});
  st.link->handovers.fetch_add(1, std::memory_order_relaxed);
  // The members' lookups come after this in the registry's mailbox: they find the proxy.
  // The link keeps the old token until the channel actor is gone: frames it still writes
  // leave with it, and the receivers that know the new owner drop them.
  if (auto proxy = st.proxies.find(id); proxy != st.proxies.end()) {
    proxy->second.owner = lease.owner;
    st.link->known_fence(id, lease.fence);
    self->send(proxy->second.actor, retarget_atom::value, channel_actor{}, lease.owner,
               lease.fence);
  } else {
    spawn_proxy(self, id, lease.owner, lease.fence);
  }
  self->send(channel, retarget_atom::value);
}

// Acquires the lease of an owned channel again (after an outage, or a renewal found it
// lost): it stays here with a new fencing token, or goes to the node that holds it now.
void confirm_lease(self_pointer self, const std::string& id) {
  self->state.link->node().leases().acquire(
      id,
      resume_in<cluster::lease>(handle_of(self), [=](const cluster::result<cluster::lease>& lease) {
        auto& st = self->state;
        auto it = st.owned.find(id);
        if (!lease || lease->owner.empty() || it == st.owned.end()) return;
        if (!lease->mine) return hand_over(self, id, *lease);
        it->second.fence = lease->fence;
        st.link->owned_fence(id, lease->fence);
      }));
}

cluster_registry_actor::behavior_type cluster_registry(self_pointer self, cluster_link_pointer link,
                                                       user_directory_actor directory,
                                                       channel_settings settings) {
  auto& st = self->state;
  st.link = std::move(link);
  st.directory = std::move(directory);
  st.settings = std::move(settings);
  self->set_down_handler([=](caf::down_msg& down) { forget(self, down.source); });
  self->delayed_send(self, renew_interval, renew_atom::value);
  self->delayed_send(self, sweep_period(st.settings), sweep_atom::value);
  return {
      [=](create_atom, connection_ref& caller) -> created_channel {
        auto& st = self->state;
        if (!st.ledger.may_create(st.settings, caller.user_id)) return created_channel{};
        std::string id;
        do {
          id = "*" + protocol::random_string(protocol::call_channel_id_bytes);
        } while (st.owned.count(id) != 0);
        auto creator = caller.user_id;
        auto actor = spawn_owned(self, id, 0, std::move(creator), std::move(caller));
        st.link->node().leases().acquire(
            id, resume_in<cluster::lease>(
                    handle_of(self), [=](const cluster::result<cluster::lease>& lease) {
                      auto it = self->state.owned.find(id);
                      if (lease && lease->mine && it != self->state.owned.end()) {
                        it->second.fence = lease->fence;
                        self->state.link->owned_fence(id, lease->fence);
                      }
                    }));
        return created_channel{std::move(id), std::move(actor)};
      },
      [=](group_atom, const std::string& group,
          const std::string& user) -> caf::typed_response_promise<channel_actor> {
        auto promise = self->state.promises.keep(self->make_response_promise<channel_actor>());
        resolve(self, protocol::group_channel_id(group), true, user, deliver_to(promise));
        return promise.handle();
      },
      [=](lookup_atom, const std::string& id) -> caf::typed_response_promise<channel_actor> {
        auto promise = self->state.promises.keep(self->make_response_promise<channel_actor>());
        resolve(self, id, false, std::nullopt, deliver_to(promise));
        return promise.handle();
      },
      [=](owned_atom, const std::string& id,
          const std::string& joiner) -> caf::typed_response_promise<channel_actor> {
        auto promise = self->state.promises.keep(self->make_response_promise<channel_actor>());
        auto& st = self->state;
        if (auto it = st.owned.find(id); it != st.owned.end()) {
          promise.deliver(it->second.actor);
          return promise.handle();
        }
        if (!protocol::is_group_channel_id(id)) {
          promise.deliver(channel_actor{});
          return promise.handle();
        }
        // A group whose owner we did not know (or a proxy that follows a dead owner): take it
        // if nobody alive holds it.
        st.link->node().leases().acquire(
            id, resume_in<cluster::lease>(
                    handle_of(self), [=](const cluster::result<cluster::lease>& lease) mutable {
                      auto& st = self->state;
                      if (!lease || !lease->mine) return (void)promise.deliver(channel_actor{});
                      if (auto it = st.owned.find(id); it != st.owned.end())
                        return (void)promise.deliver(it->second.actor);
                      const auto creator =
                          joiner.empty() ? std::nullopt : std::optional<std::string>(joiner);
                      if (!st.ledger.may_create(st.settings, creator)) {
                        release_lease(st, id, lease->fence);
                        return (void)promise.deliver(channel_actor{});
                      }
                      auto local = spawn_owned(self, id, lease->fence, creator);
                      if (auto proxy = st.proxies.find(id); proxy != st.proxies.end()) {
                        self->send(proxy->second.actor, retarget_atom::value, local, std::string(),
                                   lease->fence);
                        st.proxies.erase(proxy);
                      }
                      promise.deliver(local);
                    }));
        return promise.handle();
      },
      [=](retire_atom, const std::string&, const channel_actor& channel) {
        self->demonitor(channel.address());
        forget(self, channel.address());
      },
      [=](nodes_atom, const node_list& nodes) {
        const auto listed = [](const std::vector<std::string>& sorted, const std::string& node) {
          return std::binary_search(sorted.begin(), sorted.end(), node);
        };
        for (const auto& [id, proxy] : self->state.proxies)
          if (!listed(nodes.alive, proxy.owner) || listed(nodes.draining, proxy.owner))
            take_over(self, id, proxy.actor);
      },
      [=](drain_atom) -> caf::typed_response_promise<bool> {
        auto promise = self->state.promises.keep(self->make_response_promise<bool>());
        auto& st = self->state;
        st.draining = true;
        auto leases = written_leases(st);
        log::info("cluster: draining, giving up the owned channels",
                  {{"channels", std::to_string(leases.size())}});
        // The notice follows the releases, so a node that hears it finds the leases free.
        auto announce = [=]() mutable {
          self->state.link->announce_draining(resume_in<int64_t>(
              handle_of(self), [=](const cluster::result<int64_t>& sent) mutable {
                promise.deliver(static_cast<bool>(sent));
              }));
        };
        if (leases.empty()) {
          announce();
          return promise.handle();
        }
        auto remaining = std::make_shared<std::size_t>(leases.size());
        for (auto& [id, fence] : leases)
          st.link->node().leases().release(
              id, fence,
              resume_in<bool>(handle_of(self), [=](const cluster::result<bool>&) mutable {
                if (--*remaining == 0) announce();
              }));
        return promise.handle();
      },
      [=](rejoin_atom) {
        if (self->state.draining) return;
        for (const auto& entry : self->state.owned) confirm_lease(self, entry.first);
      },
      [=](sweep_atom) {
        // Owned channels that reached their lifetime get one `sweep` (they go if nobody
        // joined them), as in the single-node registry.
        auto& st = self->state;
        for (const auto& id : st.ledger.take_due(self->clock().now() - st.settings.empty_lifetime))
          if (auto it = st.owned.find(id); it != st.owned.end())
            self->send(it->second.actor, sweep_atom::value);
        self->delayed_send(self, sweep_period(st.settings), sweep_atom::value);
      },
      [=](renew_atom) {
        if (self->state.draining) return;
        auto leases = written_leases(self->state);
        self->state.link->node().leases().renew(
            std::move(leases),
            resume_in<std::vector<std::string>>(
                handle_of(self), [=](const cluster::result<std::vector<std::string>>& lost) {
                  if (!lost) return;  // Redis unreachable: the rejoin after it confirms them
                  for (const auto& id : *lost) confirm_lease(self, id);
                }));
        self->delayed_send(self, renew_interval, renew_atom::value);
      },
      [=](shutdown_atom) {
        // Every actor this registry made and still monitors: owned channels, proxies, and
        // proxies that became pass-throughs to a channel taken over here (no longer listed
        // as proxies, but alive while connections hold them, and their own timer keeps them
        // scheduled: the node's shutdown waited for them forever).
        for (const auto& entry : self->state.ids_by_address)
          if (auto actor = caf::actor_cast<caf::actor>(entry.first))
            caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
        self->state.promises.fail_all();
        self->quit(caf::exit_reason::user_shutdown);
      },
      run_resumed(),
  };
}

}  // namespace

cluster_registry_actor spawn_cluster_registry(caf::actor_system& system, cluster_link_pointer link,
                                              user_directory_actor directory,
                                              channel_settings settings) {
  return system.spawn(cluster_registry, std::move(link), std::move(directory), std::move(settings));
}

void hand_channels_over(caf::actor_system& system, cluster_registry_actor registry,
                        std::chrono::milliseconds timeout, std::function<void()> then) {
  system.spawn([=](caf::event_based_actor* self) {
    self->request(registry, timeout, drain_atom::value)
        .then([=](bool) { then(); }, [=](caf::error&) { then(); });
  });
}

}  // namespace kwm::actors
