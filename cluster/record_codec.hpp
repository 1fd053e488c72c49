#pragma once
// The protocol records that travel between nodes, in the wire encoding of cluster/wire.hpp:
// the auth record behind a connect key (issued on one node, redeemed on another) and a
// chat message on its way to the channel's owner. Decoders refuse truncated input and
// values out of range; unknown trailing bytes are ignored (fields are only appended).
#include <optional>
#include <string>
#include <string_view>

#include "protocol/auth_record.hpp"
#include "protocol/rtm_messages.hpp"

namespace kwm::cluster {

std::string encode_auth_record(const protocol::auth_record& auth);
std::optional<protocol::auth_record> decode_auth_record(std::string_view encoded);

std::string encode_chats_message(const protocol::chats_message& message);
std::optional<protocol::chats_message> decode_chats_message(std::string_view encoded);

}  // namespace kwm::cluster
