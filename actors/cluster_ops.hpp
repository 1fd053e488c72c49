#pragma once
// What the cluster actors say to each other over the bus (cluster/bus_messages.hpp's
// `channel` kind and requests): the operations a member's node sends to a channel's owner
// and the owner's answers.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/actors.hpp"

namespace kwm::actors {

enum class cluster_op : uint8_t {
  join = 1,      // request: user, body = encode_join_request; reply: encode_join_result
  chat = 2,      // request: user, body = the encoded chats message; reply: the error text
  forward = 3,   // user = target, body = frame
  hangup = 4,    // connection = sender, user = target, body = frame
  leave = 5,     // the member connection ended on its node
  left = 6,      // owner → member's node: that connection was replaced; body = membership
  rejoin = 7,    // owner → member's node: the channel moved to another owner (handover)
  pipeline = 8,  // body = a member's signal or hangup for the channel's MCU pipeline
  // The MCU across nodes (actors/cluster_mcu_broker.cpp): to the gateway, then the broker.
  mcu_control = 9,  // body = an attach or detach to write on a control socket there
  mcu_open = 10,    // channel = transaction, connection = the data socket's id on its node
  mcu_text = 11,    // connection = the data socket, body = a text frame it received
  mcu_closed = 12,  // connection = the data socket: it ended
  // The pipeline's node → the data socket's node (to the link, not the gateway).
  mcu_close = 13,  // connection = the data socket: close it
};

// A join answered by a node that does not own the channel (any more): look again.
inline constexpr uint8_t join_moved = 0xff;

// A join for the owner: what join_request carries besides the joiner's user id and
// connection (the channel_message's `user` and `connection`): the display name, whether it
// may create the channel, the group reply and the relayed call answer, so that the owner
// writes them before the notices (D21) as for a local joiner.
std::string encode_join_request(const join_request& request);
// The request with `joiner.display_name` set (the owner fills in the rest of the joiner);
// nullopt when the body is not a join request.
std::optional<join_request> decode_join_request(std::string_view body);

std::string encode_join_result(const join_result& result);
std::string encode_join_moved();
// nullopt: undecodable or moved (both mean: the sender asks for the owner again).
std::optional<join_result> decode_join_result(std::string_view encoded);

std::string encode_membership(uint64_t membership);
uint64_t decode_membership(std::string_view body);

}  // namespace kwm::actors
