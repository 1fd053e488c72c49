#pragma once
// The messages nodes send each other over the bus (docs/cluster.md, "Wire format").
//
// Every message is one Redis pub/sub payload:
//
//   version (1 byte) | kind (1 byte) | origin node (bytes) | body (kind-specific)
//
// Numbers are LEB128 varints and strings are length-prefixed bytes (cluster/wire.hpp), so
// frames, user ids and group names travel unchanged whatever bytes they hold. A frame for
// several members of one node is carried once, with the list of its recipients.
//
// Compatibility: a node refuses messages of another `version` (counted, never parsed).
// Within a version, fields are only ever appended: decoders ignore bytes after the fields
// they know, and skip kinds they do not know, so nodes of adjacent releases can mix
// during a rolling upgrade.
//
// Decoded messages hold views into the payload: they are valid while it is.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kwm::cluster {

inline constexpr uint8_t bus_wire_version = 1;

enum class bus_kind : uint8_t {
  deliver = 1,        // a frame for listed connections of the receiving node
  deliver_users = 2,  // a frame for every live connection of listed users on the receiving node
  channel = 3,        // an operation for the node that owns a channel
  request = 4,        // a request that expects a reply
  reply = 5,          // the reply to a request
  node_event = 6,     // a node announces a change of its life (draining, leaving)
};

struct bus_envelope {
  uint8_t version = bus_wire_version;
  bus_kind kind = bus_kind::deliver;
  std::string_view origin;  // the sending node
  std::string_view body;
};

// From a channel's owner: `frame` for the given connections (node-local ids). `fence` is
// the owner's fencing token; receivers drop frames of a channel from an older owner.
// `replaces` (0 = none) is the sender's frame_sink::send_replacing key: the receiver writes
// the frame so that it replaces a still queued one with the same key from the same node (a
// group's member list, N6).
struct deliver_message {
  std::string_view channel;
  uint64_t fence = 0;
  std::string_view frame;
  std::vector<uint64_t> connections;
  uint64_t replaces = 0;
};

// `frame` for every live connection of each user on the receiving node, except the
// connection `except` (0 = none): a call ringing every device, "taken elsewhere", the
// hangup fallback.
struct deliver_users_message {
  std::string_view frame;
  std::vector<std::string_view> users;
  uint64_t except = 0;
};

// An operation for a channel's owner, from the node holding the member connection. `op`
// and `body` are defined by the channel actors (join, leave, forward, hangup, chat, ...);
// `fence` is the owner the sender addressed (0 = unknown), so a node that lost the lease
// can tell the sender to look again.
struct channel_message {
  std::string_view channel;
  uint64_t fence = 0;
  uint8_t op = 0;
  std::string_view user;    // the member's user id
  uint64_t connection = 0;  // the member's connection on the origin node
  std::string_view body;
};

// Correlated by `id`, unique per origin node; the reply goes to the request's origin.
struct request_message {
  uint64_t id = 0;
  std::string_view body;
};
using reply_message = request_message;

enum class node_event_kind : uint8_t { draining = 1, leaving = 2 };
struct node_event_message {
  node_event_kind event = node_event_kind::leaving;
};

std::string encode(std::string_view origin, const deliver_message& message);
std::string encode(std::string_view origin, const deliver_users_message& message);
std::string encode(std::string_view origin, const channel_message& message);
std::string encode_request(std::string_view origin, const request_message& message);
std::string encode_reply(std::string_view origin, const reply_message& message);
std::string encode(std::string_view origin, const node_event_message& message);

// The envelope, or nothing when the payload is not a message of bus_wire_version.
std::optional<bus_envelope> decode_envelope(std::string_view payload);
std::optional<deliver_message> decode_deliver(std::string_view body);
std::optional<deliver_users_message> decode_deliver_users(std::string_view body);
std::optional<channel_message> decode_channel(std::string_view body);
std::optional<request_message> decode_request(std::string_view body);  // also replies
std::optional<node_event_message> decode_node_event(std::string_view body);

}  // namespace kwm::cluster
