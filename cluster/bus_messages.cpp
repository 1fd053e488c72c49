#include "cluster/bus_messages.hpp"

#include "cluster/wire.hpp"

namespace kwm::cluster {
namespace {

wire_writer start(std::string_view origin, bus_kind kind, std::size_t body_size) {
  wire_writer out;
  out.reserve(2 + 10 + origin.size() + body_size);
  out.byte(bus_wire_version);
  out.byte(static_cast<uint8_t>(kind));
  out.bytes(origin);
  return out;
}

template <class Message>
std::optional<Message> finish(const wire_reader& in, Message message) {
  if (!in.ok()) return std::nullopt;
  return message;  // trailing bytes: fields of a newer release
}

std::string encode_correlated(std::string_view origin, bus_kind kind,
                              const request_message& message) {
  wire_writer out = start(origin, kind, message.body.size() + 12);
  out.varint(message.id);
  out.bytes(message.body);
  return out.take();
}

}  // namespace

std::string encode(std::string_view origin, const deliver_message& message) {
  wire_writer out =
      start(origin, bus_kind::deliver,
            message.channel.size() + message.frame.size() + 10 * message.connections.size() + 24);
  out.bytes(message.channel);
  out.varint(message.fence);
  out.bytes(message.frame);
  out.varint(message.connections.size());
  for (const uint64_t connection : message.connections) out.varint(connection);
  out.varint(message.replaces);
  return out.take();
}

std::string encode(std::string_view origin, const deliver_users_message& message) {
  std::size_t users = 0;
  for (const auto user : message.users) users += user.size() + 2;
  wire_writer out = start(origin, bus_kind::deliver_users, message.frame.size() + users + 24);
  out.bytes(message.frame);
  out.varint(message.users.size());
  for (const auto user : message.users) out.bytes(user);
  out.varint(message.except);
  return out.take();
}

std::string encode(std::string_view origin, const channel_message& message) {
  wire_writer out = start(origin, bus_kind::channel,
                          message.channel.size() + message.user.size() + message.body.size() + 32);
  out.bytes(message.channel);
  out.varint(message.fence);
  out.byte(message.op);
  out.bytes(message.user);
  out.varint(message.connection);
  out.bytes(message.body);
  return out.take();
}

std::string encode_request(std::string_view origin, const request_message& message) {
  return encode_correlated(origin, bus_kind::request, message);
}

std::string encode_reply(std::string_view origin, const reply_message& message) {
  return encode_correlated(origin, bus_kind::reply, message);
}

std::string encode(std::string_view origin, const node_event_message& message) {
  wire_writer out = start(origin, bus_kind::node_event, 1);
  out.byte(static_cast<uint8_t>(message.event));
  return out.take();
}

std::optional<bus_envelope> decode_envelope(std::string_view payload) {
  wire_reader in(payload);
  bus_envelope envelope;
  envelope.version = in.byte();
  if (!in.ok() || envelope.version != bus_wire_version) return std::nullopt;
  envelope.kind = static_cast<bus_kind>(in.byte());
  envelope.origin = in.bytes();
  if (!in.ok()) return std::nullopt;
  envelope.body = payload.substr(payload.size() - in.remaining());
  return envelope;
}

std::optional<deliver_message> decode_deliver(std::string_view body) {
  wire_reader in(body);
  deliver_message message;
  message.channel = in.bytes();
  message.fence = in.varint();
  message.frame = in.bytes();
  const uint64_t count = in.count(1);
  message.connections.reserve(count);
  for (uint64_t i = 0; i < count && in.ok(); ++i) message.connections.push_back(in.varint());
  message.replaces = in.varint();
  return finish(in, std::move(message));
}

std::optional<deliver_users_message> decode_deliver_users(std::string_view body) {
  wire_reader in(body);
  deliver_users_message message;
  message.frame = in.bytes();
  const uint64_t count = in.count(1);
  message.users.reserve(count);
  for (uint64_t i = 0; i < count && in.ok(); ++i) message.users.push_back(in.bytes());
  message.except = in.varint();
  return finish(in, std::move(message));
}

std::optional<channel_message> decode_channel(std::string_view body) {
  wire_reader in(body);
  channel_message message;
  message.channel = in.bytes();
  message.fence = in.varint();
  message.op = in.byte();
  message.user = in.bytes();
  message.connection = in.varint();
  message.body = in.bytes();
  return finish(in, message);
}

std::optional<request_message> decode_request(std::string_view body) {
  wire_reader in(body);
  request_message message;
  message.id = in.varint();
  message.body = in.bytes();
  return finish(in, message);
}

std::optional<node_event_message> decode_node_event(std::string_view body) {
  wire_reader in(body);
  node_event_message message;
  message.event = static_cast<node_event_kind>(in.byte());
  return finish(in, message);
}

}  // namespace kwm::cluster
