#pragma once
// The bus between nodes: Redis pub/sub with one inbox channel per node and one channel to
// all nodes. Payloads are the messages of cluster/bus_messages.hpp; a frame for several
// members on one node travels once. Pub/sub delivers at most once and in order per
// publishing connection (every node publishes over its one command connection), so frames
// from one owner reach each node in the order the owner sent them. Nothing is stored:
// while Redis is down, cross-node messages are lost and the callers learn it (failure).
//
// Requests (request → reply, correlated by id, with a timeout) carry what needs an answer
// from another node, e.g. a member list from a channel's owner.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cluster/bus_messages.hpp"
#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

struct bus_stats {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> sent_bytes{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> received_bytes{0};
  std::atomic<uint64_t> refused{0};        // undecodable or of another wire version
  std::atomic<uint64_t> undeliverable{0};  // sent to a node that no longer listens
};

class message_bus {
 public:
  using message_handler = std::function<void(const bus_envelope& message)>;
  // Answers a request by calling `respond` (at most once, from any thread).
  using respond_function = std::function<void(std::string reply_body)>;
  using request_handler = std::function<void(const bus_envelope& message, std::string_view body,
                                             respond_function respond)>;

  virtual ~message_bus() = default;
  // Subscribes this node's inbox and the all-nodes channel. Handlers run on the Redis
  // client's strand with views into the payload; copy what must outlive the call.
  virtual void start(message_handler on_message, request_handler on_request) = 0;
  // An encoded message for one node; `finished` (optional) gets the number of receivers
  // (0: that node does not listen any more).
  virtual void send(const std::string& node, std::string payload,
                    callback<int64_t> finished = {}) = 0;
  // To every other node.
  virtual void broadcast(std::string payload, callback<int64_t> finished = {}) = 0;
  // A request to one node; failure::timeout when no reply came within `timeout`.
  virtual void request(const std::string& node, std::string body, std::chrono::milliseconds timeout,
                       callback<std::string> finished) = 0;
  // Fails the requests still waiting (failure::stopped); call before stopping the client.
  virtual void stop() = 0;
  virtual const bus_stats& stats() const = 0;
};

// `max_requests`: requests waiting for replies at once; more fail with failure::overloaded.
std::unique_ptr<message_bus> make_redis_message_bus(redis_client& client, key_space keys,
                                                    std::string node,
                                                    std::size_t max_requests = 65536);

}  // namespace kwm::cluster
