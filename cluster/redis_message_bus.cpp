#include "cluster/message_bus.hpp"

#include <boost/asio/steady_timer.hpp>

#include <unordered_map>

#include "cluster/detail/client_strand.hpp"
#include "cluster/redis_client.hpp"

namespace kwm::cluster {
namespace {

class redis_message_bus final : public message_bus {
 public:
  redis_message_bus(redis_client& client, key_space keys, std::string node,
                    std::size_t max_requests)
      : client_(client),
        keys_(std::move(keys)),
        node_(std::move(node)),
        max_requests_(max_requests) {}

  void start(message_handler on_message, request_handler on_request) override {
    on_message_ = std::move(on_message);
    on_request_ = std::move(on_request);
    auto receive = [this](std::string_view channel, std::string_view payload) {
      this->receive(channel, payload);
    };
    client_.subscribe(keys_.inbox(node_), receive);
    client_.subscribe(keys_.everyone(), receive);
  }

  void send(const std::string& node, std::string payload, callback<int64_t> finished) override {
    publish(keys_.inbox(node), std::move(payload), std::move(finished));
  }

  void broadcast(std::string payload, callback<int64_t> finished) override {
    publish(keys_.everyone(), std::move(payload), std::move(finished));
  }

  void request(const std::string& node, std::string body, std::chrono::milliseconds timeout,
               callback<std::string> finished) override {
    client_.post([this, node, body = std::move(body), timeout,
                  finished = std::move(finished)]() mutable {
      if (stopped_) return finished(error{failure::stopped, "bus stopped"});
      if (pending_.size() >= max_requests_)
        return finished(error{failure::overloaded, "too many bus requests"});
      const uint64_t id = ++last_request_;
      auto timer = std::make_unique<boost::asio::steady_timer>(detail::strand_of(client_), timeout);
      timer->async_wait([this, id](const boost::system::error_code& ec) {
        if (!ec) complete(id, error{failure::timeout, "no reply from the node"});
      });
      pending_.emplace(id, waiting{std::move(finished), std::move(timer)});
      send(node, encode_request(node_, {id, body}), [this, id](result<int64_t> receivers) {
        if (!receivers) return complete(id, receivers.failed());
        if (*receivers == 0) complete(id, error{failure::unavailable, "the node does not listen"});
      });
    });
  }

  void stop() override {
    client_.post([this] {
      stopped_ = true;
      while (!pending_.empty())
        complete(pending_.begin()->first, error{failure::stopped, "bus stopped"});
    });
  }

  const bus_stats& stats() const override { return stats_; }

 private:
  struct waiting {
    callback<std::string> finished;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  void publish(std::string channel, std::string payload, callback<int64_t> finished) {
    stats_.sent.fetch_add(1, std::memory_order_relaxed);
    stats_.sent_bytes.fetch_add(payload.size(), std::memory_order_relaxed);
    client_.command({"PUBLISH", std::move(channel), std::move(payload)},
                    [this, finished = std::move(finished)](result<redis_reply> reply) {
                      if (!reply) {
                        if (finished) finished(reply.failed());
                        return;
                      }
                      const auto receivers = reply->as_integer();
                      if (receivers == 0)
                        stats_.undeliverable.fetch_add(1, std::memory_order_relaxed);
                      if (!finished) return;
                      if (!receivers)
                        return finished(error{failure::malformed, "PUBLISH answered no number"});
                      finished(*receivers);
                    });
  }

  // On the client's strand.
  void complete(uint64_t id, result<std::string> outcome) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // answered or timed out already
    auto finished = std::move(it->second.finished);
    it->second.timer->cancel();
    pending_.erase(it);
    finished(std::move(outcome));
  }

  void receive(std::string_view channel, std::string_view payload) {
    stats_.received.fetch_add(1, std::memory_order_relaxed);
    stats_.received_bytes.fetch_add(payload.size(), std::memory_order_relaxed);
    const auto envelope = decode_envelope(payload);
    if (!envelope) {
      stats_.refused.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (envelope->origin == node_ && channel == keys_.everyone()) return;  // our own broadcast
    switch (envelope->kind) {
      case bus_kind::reply: {
        const auto reply = decode_request(envelope->body);
        if (!reply) break;
        complete(reply->id, std::string(reply->body));
        return;
      }
      case bus_kind::request: {
        const auto request = decode_request(envelope->body);
        if (!request) break;
        if (!on_request_) return;
        respond_function respond = [this, origin = std::string(envelope->origin),
                                    id = request->id](std::string body) {
          send(origin, encode_reply(node_, {id, body}), {});
        };
        on_request_(*envelope, request->body, std::move(respond));
        return;
      }
      default:
        if (on_message_) on_message_(*envelope);
        return;
    }
    stats_.refused.fetch_add(1, std::memory_order_relaxed);
  }

  redis_client& client_;
  key_space keys_;
  std::string node_;
  std::size_t max_requests_;
  message_handler on_message_;
  request_handler on_request_;
  std::unordered_map<uint64_t, waiting> pending_;  // on the client's strand only
  uint64_t last_request_ = 0;
  bool stopped_ = false;
  bus_stats stats_;
};

}  // namespace

std::unique_ptr<message_bus> make_redis_message_bus(redis_client& client, key_space keys,
                                                    std::string node, std::size_t max_requests) {
  return std::make_unique<redis_message_bus>(client, std::move(keys), std::move(node),
                                             max_requests);
}

}  // namespace kwm::cluster
