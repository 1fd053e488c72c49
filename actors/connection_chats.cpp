// The connection actor's `chats` messages (spec §3.16): checked here up to the channel
// lookup, then sequenced by the channel actor, which writes every frame.
#include <caf/event_based_actor.hpp>

#include <memory>

#include "actors/connection_detail.hpp"
#include "protocol/chats_rules.hpp"

namespace kwm::actors::detail {

void handle_chats(connection_self self, protocol::chats_message& message) {
  if (auto error = protocol::check_chat_request(message)) return send_bad_message(self, message.id, *error);
  auto chat = std::make_shared<protocol::chats_message>(std::move(message));
  with_channel(self, chat->channel, [=](const channel_actor& channel) {
    if (!channel) return send_bad_message(self, chat->id, protocol::error_text::channel_not_found);
    self->request(channel, caf::infinite, chat_atom::value, caf::actor_cast<connection_actor>(self), *chat)
        .await(
            [=](const std::string& error) {
              if (!error.empty()) send_bad_message(self, chat->id, error);
            },
            [=](const caf::error&) {
              send_bad_message(self, chat->id, protocol::error_text::channel_not_found);
            });
  });
}

}  // namespace kwm::actors::detail
