#pragma once
// Internals shared by the connection actor's translation units.
#include <caf/event_based_actor.hpp>

#include <string>
#include <string_view>

#include "actors/connection.hpp"
#include "protocol/rtm_errors.hpp"
#include "protocol/rtm_messages.hpp"

namespace kwm::actors::detail {

using connection_self = connection_actor::stateful_pointer<connection_state>;

void send_text(connection_self self, std::string text);
void send_error(connection_self self, uint64_t reply_to, const protocol::rtm_error& error);
inline void send_bad_message(connection_self self, uint64_t reply_to, std::string_view text) {
  send_error(self, reply_to, {protocol::error_code::bad_message, text});
}

// This connection as other actors address it.
connection_ref self_ref(connection_self self);

// Runs `next` with the channel of that id (an invalid handle when there is none). Later
// frames of this connection wait until `next` has run, so frames stay in order.
void with_channel(connection_self self, const std::string& id,
                  std::function<void(const channel_actor&)> next);

void handle_webrtc(connection_self self, protocol::webrtc_message& message);
// Cluster mode: channel `id` moved to another node (rejoin_atom). A member joins it there
// again; either way the old handle is forgotten.
void rejoin_channel(connection_self self, const std::string& id);
void handle_chats(connection_self self, protocol::chats_message& message);

}  // namespace kwm::actors::detail
