#include "actors/cluster_link.hpp"

#include <caf/send.hpp>

#include <algorithm>

#include "cluster/bus_messages.hpp"

namespace kwm::actors {
namespace {

// Bus requests (join, chat) wait this long for the owner's answer; more than the Redis
// command timeout, so a slow Redis shows as a failure of its own first.
constexpr std::chrono::milliseconds request_timeout{5000};

// A member sink's channel, shared by every frame it writes (no copy per frame); null for
// sinks that address users.
using channel_name = std::shared_ptr<const std::string>;

bool same_channel(const channel_name& a, const channel_name& b) {
  return a == b || (a && b && *a == *b);
}

}  // namespace

// Frames for one other node, in the order they were written.
class cluster_outbox : public std::enable_shared_from_this<cluster_outbox> {
 public:
  cluster_outbox(cluster_link& link, std::string node) : link_(link), node_(std::move(node)) {}

  void append(net::frame frame, uint64_t connection, const channel_name& channel,
              const std::string& user, uint64_t replaces = 0) {
    std::lock_guard guard(mutex_);
    entries_.push_back({std::move(frame), connection, channel, user, replaces});
    if (posted_) return;
    posted_ = true;
    link_.node().redis().post([self = shared_from_this()] { self->flush(); });
  }

 private:
  struct entry {
    net::frame frame;
    uint64_t connection = 0;  // 0: every connection of `user`
    channel_name channel;     // connections: the channel whose member they are
    std::string user;
    uint64_t replaces = 0;  // frame_sink::send_replacing's key (connections only)
  };

  // On the Redis client's thread: one message per run of entries sharing a frame (and
  // channel and replacement key).
  void flush() {
    std::vector<entry> entries;
    {
      std::lock_guard guard(mutex_);
      entries.swap(entries_);
      posted_ = false;
    }
    const auto& self = link_.self();
    auto& bus = link_.node().bus();
    for (std::size_t i = 0; i < entries.size();) {
      const auto& frame = entries[i].frame;
      const bool to_users = entries[i].connection == 0;
      std::size_t end = i;
      while (end < entries.size() && entries[end].frame == frame &&
             (entries[end].connection == 0) == to_users &&
             same_channel(entries[end].channel, entries[i].channel) &&
             entries[end].replaces == entries[i].replaces)
        ++end;
      if (to_users) {
        cluster::deliver_users_message message{*frame, {}, 0};
        for (std::size_t k = i; k < end; ++k) message.users.push_back(entries[k].user);
        bus.send(node_, cluster::encode(self, message));
      } else {
        const auto& channel = *entries[i].channel;
        cluster::deliver_message message{
            channel, link_.fences_.sending(channel), *frame, {}, entries[i].replaces};
        for (std::size_t k = i; k < end; ++k) message.connections.push_back(entries[k].connection);
        bus.send(node_, cluster::encode(self, message));
      }
      i = end;
    }
  }

  cluster_link& link_;
  std::string node_;
  std::mutex mutex_;
  std::vector<entry> entries_;
  bool posted_ = false;
};

namespace {

class remote_sink final : public net::frame_sink {
 public:
  remote_sink(std::shared_ptr<cluster_outbox> outbox, uint64_t connection, channel_name channel,
              std::string user)
      : outbox_(std::move(outbox)),
        connection_(connection),
        channel_(std::move(channel)),
        user_(std::move(user)) {}
  void send(net::frame text) override {
    outbox_->append(std::move(text), connection_, channel_, user_);
  }
  // The receiving node does the replacing, in the member's socket queue (N6).
  void send_replacing(net::frame text, uint64_t key) override {
    outbox_->append(std::move(text), connection_, channel_, user_, connection_ != 0 ? key : 0);
  }
  // Sockets of other nodes are closed there (a replaced member only gets its frame).
  void close(net::close_code, std::string) override {}

 private:
  std::shared_ptr<cluster_outbox> outbox_;
  uint64_t connection_;
  channel_name channel_;
  std::string user_;
};

// An MCU data socket of another node. Its frames travel like a member's (a channel nobody
// fences); the close is an operation behind them, on the same Redis thread and connection,
// so the socket's node sees it after the last frame.
class remote_socket_sink final : public net::frame_sink {
 public:
  remote_socket_sink(cluster_link& link, std::string node, uint64_t socket)
      : link_(link),
        node_(std::move(node)),
        socket_(socket),
        frames_(link.member_sink(node_, socket, {})) {}
  void send(net::frame text) override { frames_->send(std::move(text)); }
  void send_replacing(net::frame text, uint64_t) override { frames_->send(std::move(text)); }
  void close(net::close_code, std::string) override {
    link_.node().redis().post([link = &link_, node = node_, socket = socket_] {
      link->send_op(node, {}, cluster_op::mcu_close, {}, socket, {});
    });
  }

 private:
  cluster_link& link_;
  std::string node_;
  uint64_t socket_;
  std::shared_ptr<net::frame_sink> frames_;
};

}  // namespace

cluster_link::cluster_link(cluster::cluster_node& node) : node_(node) {}

cluster_link::~cluster_link() = default;

void cluster_link::start(cluster_gateway_actor gateway) {
  node_.bus().start(
      [this, gateway](const cluster::bus_envelope& message) mutable { receive(message, gateway); },
      [gateway](const cluster::bus_envelope&, std::string_view body,
                cluster::message_bus::respond_function respond) {
        const auto inner = cluster::decode_envelope(body);
        const auto message = inner ? cluster::decode_channel(inner->body) : std::nullopt;
        if (!message) return;
        caf::anon_send(gateway, op_atom::value,
                       remote_operation{std::string(message->channel), std::string(inner->origin),
                                        message->connection, message->op,
                                        std::string(message->user), std::string(message->body)},
                       bus_responder{std::move(respond)});
      });
  node_.on_nodes_change([this, gateway](const std::vector<std::string>& alive) mutable {
    alive_ = alive;
    heard_alive_ = true;
    report_nodes(gateway);
  });
}

void cluster_link::report_nodes(cluster_gateway_actor& gateway) {
  // Before the heartbeat's first list a notice only waits: an empty list would tell the
  // gateway and the registry that every other node died (their ghosts would end).
  if (!heard_alive_) return;
  // A drained node's notice goes with the node (its id is never used again).
  std::erase_if(draining_, [&](const std::string& node) {
    return !std::binary_search(alive_.begin(), alive_.end(), node);
  });
  caf::anon_send(gateway, nodes_atom::value, node_list{alive_, draining_});
}

void cluster_link::announce_draining(cluster::callback<int64_t> finished) {
  node_.bus().broadcast(
      cluster::encode(self(), cluster::node_event_message{cluster::node_event_kind::draining}),
      std::move(finished));
}

void cluster_link::receive(const cluster::bus_envelope& message, cluster_gateway_actor& gateway) {
  switch (message.kind) {
    case cluster::bus_kind::deliver: {
      const auto deliver = cluster::decode_deliver(message.body);
      if (!deliver) return;
      if (!fences_.fresh(deliver->channel, deliver->fence)) {
        stale_frames.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      const auto frame = net::make_frame(std::string(deliver->frame));
      const auto key = local_replace_key(message.origin, deliver->replaces);
      std::lock_guard guard(connections_mutex_);
      for (const auto id : deliver->connections)
        if (auto it = connections_.find(id); it != connections_.end()) {
          if (key != 0)
            it->second.sink->send_replacing(frame, key);
          else
            it->second.sink->send(frame);
        }
      return;
    }
    case cluster::bus_kind::deliver_users: {
      const auto deliver = cluster::decode_deliver_users(message.body);
      if (!deliver) return;
      const auto frame = net::make_frame(std::string(deliver->frame));
      std::lock_guard guard(connections_mutex_);
      for (const auto user : deliver->users) {
        auto ids = by_user_.find(std::string(user));
        if (ids == by_user_.end()) continue;
        for (const auto id : ids->second)
          if (id != deliver->except) connections_.at(id).sink->send(frame);
      }
      return;
    }
    case cluster::bus_kind::channel: {
      const auto operation = cluster::decode_channel(message.body);
      if (!operation) return;
      const auto op = static_cast<cluster_op>(operation->op);
      if (op == cluster_op::mcu_close) return close_socket(operation->connection);
      if (op == cluster_op::left || op == cluster_op::rejoin) {
        // For a local connection, from a channel's owner: straight to the connection actor.
        connection_actor target;
        {
          std::lock_guard guard(connections_mutex_);
          if (auto it = connections_.find(operation->connection); it != connections_.end())
            target = it->second.actor;
        }
        if (!target) return;
        std::string channel(operation->channel);
        if (op == cluster_op::left)
          caf::anon_send(target, left_atom::value, std::move(channel),
                         decode_membership(operation->body));
        else
          caf::anon_send(target, rejoin_atom::value, std::move(channel));
        return;
      }
      caf::anon_send(gateway, op_atom::value,
                     remote_operation{std::string(operation->channel), std::string(message.origin),
                                      operation->connection, operation->op,
                                      std::string(operation->user), std::string(operation->body)});
      return;
    }
    case cluster::bus_kind::node_event: {
      const auto event = cluster::decode_node_event(message.body);
      // `leaving` needs nothing here: the heartbeat tells the same a moment later.
      if (!event || event->event != cluster::node_event_kind::draining) return;
      const std::string origin(message.origin);
      const auto at = std::lower_bound(draining_.begin(), draining_.end(), origin);
      if (at != draining_.end() && *at == origin) return;
      draining_.insert(at, origin);
      return report_nodes(gateway);
    }
    default:
      return;
  }
}

uint64_t cluster_link::local_replace_key(std::string_view origin, uint64_t key) {
  // A sender's keys are its channels' actor ids, which only tell its own channels apart:
  // here they get the node's number above every local actor id. Past the ranges (2^22
  // sending processes, 2^41 actors) the frame is simply sent.
  constexpr uint64_t key_bits = 41;
  constexpr uint64_t node_bits = 22;
  if (key == 0 || key >= (uint64_t{1} << key_bits)) return 0;
  auto [it, added] = node_numbers_.try_emplace(std::string(origin), node_numbers_.size() + 1);
  if (it->second >= (uint64_t{1} << node_bits)) {
    if (added) node_numbers_.erase(it);
    return 0;
  }
  return (uint64_t{1} << 63) | (it->second << key_bits) | key;
}

void cluster_link::add_connection(const connection_ref& connection) {
  const auto id = connection_id(connection.actor);
  std::lock_guard guard(connections_mutex_);
  connections_.emplace(id, connection);
  by_user_[connection.user_id].push_back(id);
}

void cluster_link::remove_connection(uint64_t id, const std::string& user) {
  std::lock_guard guard(connections_mutex_);
  connections_.erase(id);
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return;
  std::erase(it->second, id);
  if (it->second.empty()) by_user_.erase(it);
}

void cluster_link::add_socket(uint64_t id, std::shared_ptr<net::frame_sink> sink) {
  std::lock_guard guard(connections_mutex_);
  connections_[id] = connection_ref{{}, {}, {}, std::move(sink)};
}

void cluster_link::remove_socket(uint64_t id) {
  std::lock_guard guard(connections_mutex_);
  connections_.erase(id);
}

void cluster_link::close_socket(uint64_t id) {
  std::shared_ptr<net::frame_sink> sink;
  {
    std::lock_guard guard(connections_mutex_);
    if (auto it = connections_.find(id); it != connections_.end()) sink = it->second.sink;
  }
  if (sink) sink->close(net::close_code::going_away);
}

std::shared_ptr<net::frame_sink> cluster_link::socket_sink(const std::string& node,
                                                           uint64_t socket) {
  return std::make_shared<remote_socket_sink>(*this, node, socket);
}

std::shared_ptr<cluster_outbox> cluster_link::outbox(const std::string& node) {
  std::lock_guard guard(outboxes_mutex_);
  auto& box = outboxes_[node];
  if (!box) box = std::make_shared<cluster_outbox>(*this, node);
  return box;
}

std::shared_ptr<net::frame_sink> cluster_link::member_sink(const std::string& node,
                                                           uint64_t connection,
                                                           std::string channel) {
  return std::make_shared<remote_sink>(outbox(node), connection,
                                       std::make_shared<const std::string>(std::move(channel)),
                                       std::string());
}

std::shared_ptr<net::frame_sink> cluster_link::user_sink(const std::string& node,
                                                         std::string user) {
  return std::make_shared<remote_sink>(outbox(node), 0, nullptr, std::move(user));
}

// Posted behind the frames already queued for the Redis thread, so frames a channel wrote
// before the registry changed its token still leave with the token they were written under.
void cluster_link::owned_fence(const std::string& channel, uint64_t fence) {
  node_.redis().post([this, channel, fence] { fences_.owned(channel, fence); });
}

void cluster_link::known_fence(const std::string& channel, uint64_t fence) {
  node_.redis().post([this, channel, fence] { fences_.known(channel, fence); });
}

void cluster_link::send_op(const std::string& node, const std::string& channel, cluster_op op,
                           std::string_view user, uint64_t connection, std::string_view body) {
  node_.bus().send(
      node, cluster::encode(self(), cluster::channel_message{channel, 0, static_cast<uint8_t>(op),
                                                             user, connection, body}));
}

void cluster_link::request_op(const std::string& node, const std::string& channel, cluster_op op,
                              std::string_view user, uint64_t connection, std::string_view body,
                              cluster::callback<std::string> finished) {
  node_.bus().request(
      node,
      cluster::encode(self(), cluster::channel_message{channel, 0, static_cast<uint8_t>(op), user,
                                                       connection, body}),
      request_timeout, std::move(finished));
}

}  // namespace kwm::actors
