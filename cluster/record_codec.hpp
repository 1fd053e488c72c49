#pragma once
// The protocol records that travel between nodes, in the wire encoding of cluster/wire.hpp:
// the auth record behind a connect key (issued on one node, redeemed on another) and a
// chat message on its way to the channel's owner. Decoders refuse truncated input and
// values out of range; unknown trailing bytes are ignored (fields are only appended).
#include <optional>
#include <string>
#include <string_view>

#include "protocol/admin_api.hpp"
#include "protocol/auth_record.hpp"
#include "protocol/rtm_messages.hpp"

namespace kwm::cluster {

std::string encode_auth_record(const protocol::auth_record& auth);
std::optional<protocol::auth_record> decode_auth_record(std::string_view encoded);

// An admin token record's body (spec §1.6): everything of the token object but `exp`,
// which the store keeps apart so that a refresh can update it.
std::string encode_admin_token(const protocol::admin_token_object& token);
std::optional<protocol::admin_token_object> decode_admin_token(std::string_view encoded,
                                                               int64_t exp);

std::string encode_chats_message(const protocol::chats_message& message);
std::optional<protocol::chats_message> decode_chats_message(std::string_view encoded);

}  // namespace kwm::cluster
