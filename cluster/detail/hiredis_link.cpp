#include "cluster/detail/hiredis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/post.hpp>

#include <array>
#include <vector>

#include "cluster/detail/hiredis_reply.hpp"

namespace kwm::cluster::detail {
namespace {

// Commands with more arguments (batched scripts) use the heap; most fit on the stack.
constexpr std::size_t stack_arguments = 16;

}  // namespace

hiredis_link::hiredis_link(strand_type strand, handlers on)
    : strand_(strand), on_(std::move(on)), socket_(strand_), connect_timer_(strand_) {}

hiredis_link::~hiredis_link() {
  destroying_ = true;
  // Frees the context; its cleanup hook detaches the descriptor without posting anything.
  if (context_ != nullptr && !failing_) redisAsyncFree(context_);
}

void hiredis_link::open(const std::string& address, uint16_t port,
                        std::chrono::milliseconds connect_timeout) {
  auto fail_at_once = [this](std::string why) {
    boost::asio::post(strand_, [self = shared_from_this(), why = std::move(why)] {
      if (self->on_.closed) self->on_.closed(error{failure::unavailable, why});
    });
  };
  redisAsyncContext* context = redisAsyncConnect(address.c_str(), port);
  if (context == nullptr) return fail_at_once("cannot allocate a redis context");
  if (context->err != 0) {
    std::string why = context->errstr;
    redisAsyncFree(context);
    return fail_at_once(std::move(why));
  }
  boost::system::error_code ec;
  socket_.assign(context->c.fd, ec);
  if (ec) {
    redisAsyncFree(context);
    return fail_at_once("cannot watch the redis socket: " + ec.message());
  }
  context_ = context;
  context->data = this;
  context->ev.data = this;
  context->ev.addRead = &hiredis_link::on_add_read;
  context->ev.delRead = &hiredis_link::on_del_read;
  context->ev.addWrite = &hiredis_link::on_add_write;
  context->ev.delWrite = &hiredis_link::on_del_write;
  context->ev.cleanup = &hiredis_link::on_cleanup;
  redisEnableKeepAlive(&context->c);
  // Arms the write wait through which hiredis learns that the connect finished.
  redisAsyncSetConnectCallback(context, &hiredis_link::on_connect);

  connect_timer_.expires_after(connect_timeout);
  connect_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->connected_ && self->context_ != nullptr)
      self->close(error{failure::unavailable, "connect timed out"});
  });
}

bool hiredis_link::send(std::span<const std::string_view> args, reply_handler&& handler) {
  if (!usable() || args.empty()) return false;
  std::array<const char*, stack_arguments> stack_pointers{};
  std::array<std::size_t, stack_arguments> stack_lengths{};
  std::vector<const char*> heap_pointers;
  std::vector<std::size_t> heap_lengths;
  const char** pointers = stack_pointers.data();
  std::size_t* lengths = stack_lengths.data();
  if (args.size() > stack_arguments) {
    heap_pointers.resize(args.size());
    heap_lengths.resize(args.size());
    pointers = heap_pointers.data();
    lengths = heap_lengths.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    pointers[i] = args[i].data();
    lengths[i] = args[i].size();
  }
  if (redisAsyncCommandArgv(context_, &hiredis_link::on_reply, this, static_cast<int>(args.size()),
                            pointers, lengths) != REDIS_OK)
    return false;
  pending_.push_back({std::move(handler), std::chrono::steady_clock::now()});
  return true;
}

bool hiredis_link::subscribe(std::string_view channel, bool pattern) {
  if (!usable()) return false;
  const char* pointers[2] = {pattern ? "PSUBSCRIBE" : "SUBSCRIBE", channel.data()};
  const std::size_t lengths[2] = {pattern ? 10u : 9u, channel.size()};
  return redisAsyncCommandArgv(context_, &hiredis_link::on_push, this, 2, pointers, lengths) ==
         REDIS_OK;
}

void hiredis_link::close(error why) {
  if (context_ == nullptr || failing_) return;
  closing_ = std::move(why);
  failing_ = true;
  // Runs the handlers of the commands in flight and then the cleanup hook; inside a hiredis
  // callback hiredis defers this until the callback returns.
  redisAsyncFree(context_);
}

std::optional<std::chrono::steady_clock::time_point> hiredis_link::oldest_in_flight() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.front().sent;
}

error hiredis_link::failure_of_in_flight() const {
  if (closing_) return *closing_;
  std::string detail =
      (context_ != nullptr && context_->err != 0) ? context_->errstr : "connection closed";
  return error{connected_ ? failure::lost : failure::unavailable, std::move(detail)};
}

void hiredis_link::wait_until(boost::asio::posix::descriptor_base::wait_type ready) {
  const bool read = ready == boost::asio::posix::descriptor_base::wait_read;
  bool& waiting = read ? reading_ : writing_;
  if (waiting || !(read ? want_read_ : want_write_) || context_ == nullptr || destroying_) return;
  waiting = true;
  socket_.async_wait(
      ready, [self = shared_from_this(), ready, read](const boost::system::error_code& ec) {
        (read ? self->reading_ : self->writing_) = false;
        if (ec || self->context_ == nullptr || !(read ? self->want_read_ : self->want_write_))
          return;
        // Either may free the context (its cleanup hook then detaches us).
        if (read)
          redisAsyncHandleRead(self->context_);
        else
          redisAsyncHandleWrite(self->context_);
        self->wait_until(ready);
      });
}

void hiredis_link::detach() {
  if (context_ == nullptr) return;
  redisAsyncContext* context = context_;
  // hiredis may still call hooks while it finishes the teardown: make them no-ops.
  context->ev.addRead = nullptr;
  context->ev.delRead = nullptr;
  context->ev.addWrite = nullptr;
  context->ev.delWrite = nullptr;
  context->ev.cleanup = nullptr;
  context->ev.data = nullptr;
  context->data = nullptr;
  error why = closing_
                  ? *closing_
                  : error{connected_ ? failure::lost : failure::unavailable,
                          context->err != 0         ? std::string(context->errstr)
                          : !connect_error_.empty() ? connect_error_
                                                    : std::string("connection closed by redis")};
  context_ = nullptr;
  failing_ = true;
  want_read_ = want_write_ = false;
  socket_.release();  // hiredis closes the descriptor itself
  connect_timer_.cancel();
  if (destroying_) return;
  boost::asio::post(strand_, [self = shared_from_this(), why = std::move(why)] {
    if (self->on_.closed) self->on_.closed(why);
  });
}

void hiredis_link::on_add_read(void* self) {
  auto* link = static_cast<hiredis_link*>(self);
  if (link == nullptr || link->destroying_) return;
  link->want_read_ = true;
  link->wait_until(boost::asio::posix::descriptor_base::wait_read);
}

void hiredis_link::on_del_read(void* self) {
  if (auto* link = static_cast<hiredis_link*>(self)) link->want_read_ = false;
}

void hiredis_link::on_add_write(void* self) {
  auto* link = static_cast<hiredis_link*>(self);
  if (link == nullptr || link->destroying_) return;
  link->want_write_ = true;
  link->wait_until(boost::asio::posix::descriptor_base::wait_write);
}

void hiredis_link::on_del_write(void* self) {
  if (auto* link = static_cast<hiredis_link*>(self)) link->want_write_ = false;
}

void hiredis_link::on_cleanup(void* self) {
  if (auto* link = static_cast<hiredis_link*>(self)) link->detach();
}

void hiredis_link::on_connect(const redisAsyncContext* context, int status) {
  auto* link = static_cast<hiredis_link*>(context->data);
  if (link == nullptr || link->destroying_) return;
  if (status != REDIS_OK) {
    link->connect_error_ = context->errstr;  // hiredis frees the context right after this
    return;
  }
  link->connected_ = true;
  link->connect_timer_.cancel();
  // Posted: the handler sends commands and may close the link, which must not happen in
  // the middle of hiredis's write handling.
  boost::asio::post(link->strand_, [self = link->shared_from_this()] {
    if (self->context_ != nullptr && self->on_.connected) self->on_.connected();
  });
}

void hiredis_link::on_reply(redisAsyncContext*, void* reply, void* self) {
  auto* link = static_cast<hiredis_link*>(self);
  if (link->pending_.empty()) return;
  reply_handler handler = std::move(link->pending_.front().handler);
  link->pending_.pop_front();
  if (link->destroying_) return;
  if (reply == nullptr) {
    link->failing_ = true;
    handler(link->failure_of_in_flight());
    return;
  }
  handler(to_reply(*static_cast<const redisReply*>(reply)));
}

void hiredis_link::on_push(redisAsyncContext*, void* reply, void* self) {
  auto* link = static_cast<hiredis_link*>(self);
  if (reply == nullptr || link->destroying_ || !link->on_.push) return;
  link->on_.push(to_reply(*static_cast<const redisReply*>(reply)));
}

}  // namespace kwm::cluster::detail
