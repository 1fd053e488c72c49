#pragma once
// The actors' side of the cluster node (docs/cluster.md, "Message paths"): one object per
// process in cluster mode, shared by the cluster actors.
//
// * The table of this node's live connections by id (the connection actor's id), written
//   by the directory and read on the Redis client's thread, so a frame from another node
//   goes straight to the sockets without an actor hop.
// * Sinks that stand for connections on other nodes: a frame written into them joins that
//   node's outbox; the outbox is flushed on the Redis client's thread, and consecutive
//   entries with the same frame (a fan-out) travel as one `deliver` message with every
//   recipient's id: serialised once, published once per node. A member list (send_replacing)
//   keeps its key over the bus, so it replaces a queued one on the receiving node too (N6).
// * Fencing: frames of a channel carry this node's token for it when it owns the channel;
//   received frames with an older token than the newest known for their channel are
//   dropped (cluster/fence_table.hpp). The registry tells the link the tokens.
// * The bus's receiving end: frames to local sockets, operations to the gateway actor, and
//   the nodes' changes (the heartbeat's alive list, `draining` notices) to the gateway.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/actors.hpp"
#include "actors/cluster_ops.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/fence_table.hpp"

namespace kwm::actors {

class cluster_outbox;

class cluster_link {
 public:
  explicit cluster_link(cluster::cluster_node& node);
  ~cluster_link();
  cluster_link(const cluster_link&) = delete;
  cluster_link& operator=(const cluster_link&) = delete;

  cluster::cluster_node& node() { return node_; }
  // Channels whose owner is this node (the registry writes, metrics read).
  std::atomic<int64_t> channels_owned{0};
  // Owned channels handed to a node that took their lease (the registry counts).
  std::atomic<uint64_t> handovers{0};
  // Ghosts here of other nodes' connections that joined channels owned here (the gateway's).
  std::atomic<int64_t> remote_members{0};
  // Frames of a channel from an owner older than the one this node knows, dropped.
  std::atomic<uint64_t> stale_frames{0};
  const std::string& self() const { return node_.id(); }

  // Subscribes the bus: operations and requests go to `gateway`. Call once, before the
  // node starts.
  void start(cluster_gateway_actor gateway);

  // The local connection table (thread-safe).
  void add_connection(const connection_ref& connection);
  void remove_connection(uint64_t id, const std::string& user);

  // A sink for connection `connection` on `node` as a member of `channel` (its frames carry
  // the channel's token), and one for every connection of `user` there.
  std::shared_ptr<net::frame_sink> member_sink(const std::string& node, uint64_t connection,
                                               std::string channel);
  std::shared_ptr<net::frame_sink> user_sink(const std::string& node, std::string user);

  // MCU data sockets of this node whose pipeline lives on another node, by their relay's id
  // (thread-safe): frames the pipeline writes find them like a connection's.
  void add_socket(uint64_t id, std::shared_ptr<net::frame_sink> sink);
  void remove_socket(uint64_t id);
  void close_socket(uint64_t id);  // going away (1001), as a pipeline closes its socket
  // A sink for data socket `socket` on `node`: frames go there, close() closes it there.
  std::shared_ptr<net::frame_sink> socket_sink(const std::string& node, uint64_t socket);

  // The registry's fencing tokens (thread-safe; 0 forgets): this node's own lease of a
  // channel, and the newest lease of another owner it knows.
  void owned_fence(const std::string& channel, uint64_t fence);
  void known_fence(const std::string& channel, uint64_t fence);

  // An operation for another node's channel or gateway (fire-and-forget).
  void send_op(const std::string& node, const std::string& channel, cluster_op op,
               std::string_view user, uint64_t connection, std::string_view body);
  // A request (join, chat) to a channel's owner; the reply body or a failure, on the Redis
  // client's thread.
  void request_op(const std::string& node, const std::string& channel, cluster_op op,
                  std::string_view user, uint64_t connection, std::string_view body,
                  cluster::callback<std::string> finished);
  // Tells every other node that this one drains (after its leases were given up).
  void announce_draining(cluster::callback<int64_t> finished);

 private:
  friend class cluster_outbox;
  std::shared_ptr<cluster_outbox> outbox(const std::string& node);
  void receive(const cluster::bus_envelope& message, cluster_gateway_actor& gateway);
  // The alive list and the draining nodes among them, to the gateway (the client's thread).
  void report_nodes(cluster_gateway_actor& gateway);
  // The send_replacing key for a frame from `origin` with the sender's `key` (0: send plainly).
  uint64_t local_replace_key(std::string_view origin, uint64_t key);

  cluster::cluster_node& node_;
  std::mutex connections_mutex_;
  std::unordered_map<uint64_t, connection_ref> connections_;
  std::unordered_map<std::string, std::vector<uint64_t>> by_user_;
  // Numbers of the nodes frames came from, for local_replace_key (the Redis client's thread
  // only, like receive).
  std::unordered_map<std::string, uint64_t> node_numbers_;
  cluster::fence_table fences_;  // the Redis client's thread only
  // The heartbeat's last list of alive nodes, and those of them that announced their drain,
  // sorted (the Redis client's thread only, as the node's observers).
  std::vector<std::string> alive_;
  bool heard_alive_ = false;
  std::vector<std::string> draining_;
  std::mutex outboxes_mutex_;
  std::unordered_map<std::string, std::shared_ptr<cluster_outbox>> outboxes_;
};

using cluster_link_pointer = std::shared_ptr<cluster_link>;

// The id other nodes know a local connection by.
inline uint64_t connection_id(const connection_actor& actor) {
  return actor ? actor.id() : 0;
}

}  // namespace kwm::actors
