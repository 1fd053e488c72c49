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
  join = 1,     // request: user, body = display name + may-create; reply: encode_join_result
  chat = 2,     // request: user, body = the encoded chats message; reply: the error text
  forward = 3,  // user = target, body = frame
  hangup = 4,   // connection = sender, user = target, body = frame
  leave = 5,    // the member connection ended on its node
  left = 6,     // owner → member's node: that connection was replaced; body = membership
};

// A join answered by a node that does not own the channel (any more): look again.
inline constexpr uint8_t join_moved = 0xff;

std::string encode_join_body(std::string_view display_name, bool may_create);
bool decode_join_body(std::string_view body, std::string& display_name, bool& may_create);

std::string encode_join_result(const join_result& result);
std::string encode_join_moved();
// nullopt: undecodable or moved (both mean: the sender asks for the owner again).
std::optional<join_result> decode_join_result(std::string_view encoded);

std::string encode_membership(uint64_t membership);
uint64_t decode_membership(std::string_view body);

}  // namespace kwm::actors
