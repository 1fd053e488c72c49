#pragma once
// An asynchronous Redis client: hiredis's async API driven by Asio on one strand of the
// io_context it is given. Two connections: one for commands (pipelined: many commands in
// flight, replies in order) and, once something is subscribed, one for pub/sub.
//
// * Reconnects by itself with exponential back-off (with jitter) after any failure, sends
//   AUTH and SELECT from the URL and CLIENT SETNAME, and resubscribes after reconnects.
// * Bounded: at most `max_pending` commands (and `max_pending_bytes` of arguments) are in
//   flight or queued; beyond that a command fails at once with failure::overloaded. While
//   Redis is known to be down, commands fail at once with failure::unavailable; before the
//   first connection they wait up to `queue_timeout`. A command without a reply after
//   `command_timeout` resets the connection (a hung Redis is a down Redis).
// * Health: a PING every `health_interval` measures the round-trip time; with a probe
//   channel, a message published to it must come back over the subscriber connection,
//   which proves pub/sub end to end (hiredis 0.14 cannot PING a subscribed connection).
// * The up/down state (both connections ready) is logged once per change and reported to
//   observers.
//
// Thread model: every public function may be called from any thread (it posts to the
// strand). Every callback, handler and observer runs on the strand; they must be quick
// (hand work to actors) and must not destroy the client.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/log.hpp"
#include "cluster/redis_reply.hpp"
#include "cluster/redis_url.hpp"

namespace boost::asio {
class io_context;
}

namespace kwm::cluster {
namespace detail {
struct client_access;
}

struct redis_client_options {
  redis_endpoint endpoint;
  std::string client_name = "kwmserverd";  // CLIENT SETNAME (spaces become '-')
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{3000};
  std::chrono::milliseconds queue_timeout{1000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds health_interval{1000};
  std::size_t max_in_flight = 1024;  // written to the socket, waiting for the reply
  std::size_t max_pending = 65536;   // in flight + queued
  std::size_t max_pending_bytes = std::size_t{64} << 20;
  std::string probe_channel;  // pub/sub health probe; empty = none
};

// Read with relaxed loads from any thread (metrics).
struct redis_client_stats {
  std::atomic<uint64_t> commands{0};       // commands written to Redis
  std::atomic<uint64_t> failures{0};       // commands that ended without a reply
  std::atomic<uint64_t> messages{0};       // pub/sub messages received
  std::atomic<uint64_t> connects{0};       // connections that became ready
  std::atomic<uint64_t> pending{0};        // commands in flight or queued now
  std::atomic<int64_t> round_trip_us{-1};  // the last PING, -1 before the first
  std::atomic<uint64_t> round_trip_sum_us{0};
  std::atomic<uint64_t> round_trip_count{0};
};

// A pub/sub message: the channel it came on and its payload, valid during the call.
using message_handler = std::function<void(std::string_view channel, std::string_view payload)>;

class redis_client {
 public:
  redis_client(boost::asio::io_context& io, redis_client_options options, log_function log = {});
  // Stops the client if stop() was not called. The io_context must outlive the client's
  // pending handlers: stop, let the io_context run them, then destroy it.
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  void start();
  // Fails everything pending with failure::stopped, closes both connections, then calls
  // `stopped` on the strand.
  void stop(std::function<void()> stopped = {});

  // One command, e.g. {"SET", key, value, "PX", "30000"}; arguments are binary-safe.
  void command(std::vector<std::string> args, reply_callback done);
  // Channels and patterns stay subscribed for the client's life (also across reconnects).
  void subscribe(std::string channel, message_handler handler);
  void psubscribe(std::string pattern, message_handler handler);
  // Called with true/false on every change of the combined state. Register before start().
  void on_state_change(std::function<void(bool up)> observer);
  // Runs `task` on the strand.
  void post(std::function<void()> task);

  bool is_up() const;
  const redis_client_stats& stats() const;
  const redis_client_options& options() const;

  struct impl;

 private:
  friend struct detail::client_access;
  std::shared_ptr<impl> impl_;
};

}  // namespace kwm::cluster
