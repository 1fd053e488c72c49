#pragma once
// One TCP connection to Redis through hiredis's asynchronous API, driven by Asio: the
// socket hiredis opened is watched with a posix::stream_descriptor on a strand, and the
// read/write/cleanup hooks hiredis calls switch the waits on and off (the "adapter").
//
// Not thread-safe: every call happens on the strand and every handler runs there. Replies
// arrive in command order (RESP2 without subscriptions), so the handlers of regular
// commands wait in a FIFO; a subscriber link gets its pushes through `handlers::push`.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cluster/redis_reply.hpp"

struct redisAsyncContext;

namespace kwm::cluster::detail {

using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

class hiredis_link : public std::enable_shared_from_this<hiredis_link> {
 public:
  struct handlers {
    std::function<void()> connected;                    // TCP connection established
    std::function<void(const error& why)> closed;       // once per open(), posted to the strand
    std::function<void(const redis_reply& push)> push;  // (p)subscribe confirmations, messages
  };
  using reply_handler = std::function<void(result<redis_reply>)>;

  hiredis_link(strand_type strand, handlers on);
  ~hiredis_link();
  hiredis_link(const hiredis_link&) = delete;
  hiredis_link& operator=(const hiredis_link&) = delete;

  // Connects to a numeric address (the caller resolves names, so nothing blocks here).
  void open(const std::string& address, uint16_t port, std::chrono::milliseconds connect_timeout);
  // Queues a command behind the ones in flight. False when the link is not usable: the
  // handler is then left untouched (not moved from) for the caller to retry or fail;
  // otherwise it runs exactly once.
  bool send(std::span<const std::string_view> args, reply_handler&& handler);
  // SUBSCRIBE or PSUBSCRIBE (`pattern`); confirmations and messages come through `push`.
  bool subscribe(std::string_view channel, bool pattern);
  // Ends the connection: commands in flight fail with `why.kind`, `closed` follows.
  void close(error why);

  bool usable() const { return context_ != nullptr && !failing_; }
  bool is_connected() const { return connected_; }
  std::size_t in_flight() const { return pending_.size(); }
  // When the oldest command still waiting for its reply was written.
  std::optional<std::chrono::steady_clock::time_point> oldest_in_flight() const;

 private:
  struct pending_reply {
    reply_handler handler;
    std::chrono::steady_clock::time_point sent;
  };

  static void on_add_read(void* self);
  static void on_del_read(void* self);
  static void on_add_write(void* self);
  static void on_del_write(void* self);
  static void on_cleanup(void* self);
  static void on_connect(const redisAsyncContext* context, int status);
  static void on_reply(redisAsyncContext* context, void* reply, void* self);
  static void on_push(redisAsyncContext* context, void* reply, void* self);

  // Waits (once at a time per direction) while hiredis wants that direction.
  void wait_until(boost::asio::posix::descriptor_base::wait_type ready);
  void detach();
  error failure_of_in_flight() const;

  strand_type strand_;
  handlers on_;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::steady_timer connect_timer_;
  redisAsyncContext* context_ = nullptr;
  std::deque<pending_reply> pending_;
  std::optional<error> closing_;  // set by close(): the reason the in-flight commands get
  std::string connect_error_;
  bool want_read_ = false;
  bool want_write_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool connected_ = false;
  bool failing_ = false;     // hiredis is tearing the context down
  bool destroying_ = false;  // in the destructor: no handler may run any more
};

}  // namespace kwm::cluster::detail
