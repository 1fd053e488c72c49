#include "actors/connection.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <type_traits>
#include <variant>

#include "protocol/rtm_output.hpp"
#include "protocol/rtm_parse.hpp"

namespace kwm::actors {
namespace {

using self_pointer = connection_actor::stateful_pointer<connection_state>;

void send_text(self_pointer self, std::string text) {
  self->state.sink->send(net::make_frame(std::move(text)));
}

void send_error(self_pointer self, uint64_t reply_to, protocol::error_code code,
                std::string_view message) {
  send_text(self, protocol::render_error(reply_to, code, message));
}

// Ends the connection from the server side: goodbye (added by net), then the close frame.
void close_connection(self_pointer self, net::close_code code, std::string reason = {}) {
  self->state.closing = true;
  self->state.sink->close(code, std::move(reason));
  self->quit();
}

void on_rate_limited(self_pointer self, const std::string& text) {
  // The spec wants `reply_to` when the rejected frame is an object with a valid id.
  uint64_t reply_to = 0;
  const auto frame = protocol::parse_client_frame(text);
  if (const auto* webrtc = std::get_if<protocol::webrtc_message>(&frame)) reply_to = webrtc->id;
  else if (const auto* chats = std::get_if<protocol::chats_message>(&frame)) reply_to = chats->id;
  else if (const auto* ping = std::get_if<protocol::ping_message>(&frame)) reply_to = ping->id;
  else if (const auto* invalid = std::get_if<protocol::invalid_field>(&frame)) reply_to = invalid->reply_to;
  send_error(self, reply_to, protocol::error_code::bad_message,
             protocol::error_text::rate_limit_exceeded);
}

// Returns false when the frame must not be processed.
bool admit_frame(self_pointer self, const std::string* text) {
  auto& limiter = *self->state.limiter;
  switch (limiter.admit(self->clock().now())) {
    case protocol::frame_rate_limiter::verdict::accept:
      return true;
    case protocol::frame_rate_limiter::verdict::reject:
      if (text != nullptr) on_rate_limited(self, *text);
      return false;
    case protocol::frame_rate_limiter::verdict::close:
      close_connection(self, net::close_code::policy_violation,
                       std::string(protocol::error_text::rate_limit_exceeded));
      return false;
  }
  return false;
}

template <class Message>
void on_user_message(self_pointer self, Message& msg) {
  if (self->state.auth.user_id.empty())
    return send_error(self, msg.id, protocol::error_code::bad_message,
                      protocol::error_text::connection_has_no_user);
  send_error(self, msg.id, protocol::error_code::bad_message, protocol::error_text::unknown_subtype);
}

void on_text(self_pointer self, const std::string& text) {
  auto frame = protocol::parse_client_frame(text);
  std::visit(
      [&](auto& message) {
        using type = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<type, protocol::fatal_frame>) {
          close_connection(self, net::close_code::going_away);
        } else if constexpr (std::is_same_v<type, protocol::ping_message>) {
          send_text(self, std::move(message.pong));
        } else if constexpr (std::is_same_v<type, protocol::invalid_field>) {
          send_error(self, message.reply_to, protocol::error_code::bad_message,
                     "invalid type for field " + message.field);
        } else {
          on_user_message(self, message);
        }
      },
      frame);
}

connection_actor::behavior_type connection(self_pointer self, protocol::auth_record auth,
                                           std::shared_ptr<net::frame_sink> sink,
                                           user_directory_actor directory,
                                           connection_settings settings) {
  auto& st = self->state;
  st.auth = std::move(auth);
  st.sink = std::move(sink);
  st.directory = std::move(directory);
  st.limiter.emplace(settings.rate_limit, self->clock().now());
  // Whatever ends this actor (quit, exit message, error) also ends the socket.
  self->attach_functor([sink = st.sink](const caf::error&) {
    sink->close(net::close_code::going_away);
  });
  send_text(self, protocol::render_hello(st.auth.self()));
  return {
      [=](text_atom, const std::string& text) {
        if (self->state.closing || !admit_frame(self, &text)) return;
        on_text(self, text);
      },
      [=](binary_atom, uint64_t) {
        if (!self->state.closing) admit_frame(self, nullptr);
      },
      [=](closed_atom) {
        self->state.closing = true;
        self->quit();
      },
  };
}

class connection_listener : public net::frame_listener {
 public:
  explicit connection_listener(connection_actor actor) : actor_(std::move(actor)) {}
  void on_text(std::string text) override {
    caf::anon_send(actor_, text_atom::value, std::move(text));
  }
  void on_binary(std::size_t size) override {
    caf::anon_send(actor_, binary_atom::value, static_cast<uint64_t>(size));
  }
  void on_closed() override { caf::anon_send(actor_, closed_atom::value); }

 private:
  connection_actor actor_;
};

}  // namespace

connection_actor spawn_connection(caf::actor_system& system, protocol::auth_record auth,
                                  std::shared_ptr<net::frame_sink> sink,
                                  user_directory_actor directory, connection_settings settings) {
  return system.spawn(connection, std::move(auth), std::move(sink), std::move(directory), settings);
}

std::unique_ptr<net::frame_listener> make_connection_listener(connection_actor actor) {
  return std::make_unique<connection_listener>(std::move(actor));
}

}  // namespace kwm::actors
