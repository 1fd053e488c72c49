#include "actors/connection.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <type_traits>
#include <variant>

#include "actors/connection_detail.hpp"
#include "actors/event_log.hpp"
#include "actors/handles.hpp"
#include "protocol/chats_output.hpp"
#include "protocol/field_limits.hpp"
#include "protocol/rtm_output.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/webrtc_rules.hpp"

namespace kwm::actors {
namespace detail {

void send_text(connection_self self, std::string text) {
  self->state.sink->send(net::make_frame(std::move(text)));
}

void send_error(connection_self self, uint64_t reply_to, const protocol::rtm_error& error) {
  send_text(self, protocol::render_error(reply_to, error.code, error.message));
}

connection_ref self_ref(connection_self self) {
  const auto& auth = self->state.auth;
  return {auth.user_id, auth.display_name, caf::actor_cast<connection_actor>(self), self->state.sink};
}

void with_channel(connection_self self, const std::string& id,
                  std::function<void(const channel_actor&)> next) {
  auto& known = self->state.channels;
  if (auto it = known.find(id); it != known.end()) return next(it->second);
  self->request(self->state.context->channels, caf::infinite, lookup_atom::value, id)
      .await(
          [=](const channel_actor& found) {
            if (found && self->state.channels.emplace(id, found).second) self->monitor(found);
            next(found);
          },
          [=](const caf::error&) { next(channel_actor{}); });
}

}  // namespace detail

namespace {

using detail::connection_self;

// Ends the connection from the server side: goodbye (added by net), then the close frame.
void close_connection(connection_self self, net::close_code code, std::string reason, std::string_view why) {
  const auto id = std::to_string(self->id());
  log::info("closing connection", {{"connection", id}, {"user", self->state.auth.user_id}, {"reason", why}});
  self->state.closing = true;
  self->state.sink->close(code, std::move(reason));
  self->quit();
}

// The answer to a refused frame, rendered once: the frame is not parsed, so there is no
// `reply_to` (D20: refused frames cost no parsing).
const net::frame& rate_limit_error() {
  static const net::frame frame = net::make_frame(
      protocol::render_error(0, protocol::error_code::bad_message, protocol::error_text::rate_limit_exceeded));
  return frame;
}

// Returns false when the frame must not be processed (spec §4.3, D20).
bool admit_frame(connection_self self, uint64_t size, bool text) {
  switch (self->state.limiter->admit(self->clock().now(), size)) {
    case protocol::frame_rate_limiter::verdict::accept:
      return true;
    case protocol::frame_rate_limiter::verdict::reject:
      server_metrics::bump(self->state.context->metrics->rate_limit_rejections_total);
      if (text) self->state.sink->send(rate_limit_error());
      return false;
    case protocol::frame_rate_limiter::verdict::close:
      close_connection(self, net::close_code::policy_violation,
                       std::string(protocol::error_text::rate_limit_exceeded), "rate limit exceeded");
      return false;
  }
  return false;
}

// Token connections refresh their record on every ping and get a renewed token in the
// pong when theirs expires within 15 minutes (spec §3.5, D8).
void on_ping(connection_self self, const std::string& text, protocol::ping_message& ping) {
  auto& auth = self->state.auth;
  const auto& admin = self->state.context->admin;
  if (auth.kind != protocol::auth_kind::token || !admin) return detail::send_text(self, std::move(ping.pong));
  caf::anon_send(admin, touch_atom::value, std::string("Token"), auth.subject, auth.issued_at, auth.expires_at);
  constexpr int64_t renewal_window = 15 * 60;
  if (auth.expires_at >= protocol::unix_seconds_now() + renewal_window)
    return detail::send_text(self, std::move(ping.pong));
  self->request(admin, caf::infinite, renew_atom::value, auth.subject, auth.issued_at)
      .await(
          [=, pong = std::move(ping.pong)](const token_verdict& renewed) mutable {
            if (!renewed.valid) return detail::send_text(self, std::move(pong));
            auto& current = self->state.auth;
            current.issued_at = renewed.claims.issued_at;
            current.expires_at = renewed.claims.expires_at;
            detail::send_text(self, protocol::render_pong(text, renewed.token, self->state.context->settings.json));
          },
          [=](const caf::error&) { detail::send_text(self, protocol::render_pong(text, {}, self->state.context->settings.json)); });
}

void on_text(connection_self self, const std::string& text) {
  auto frame = protocol::parse_client_frame(text, self->state.context->settings.json);
  std::visit(
      [&](auto& message) {
        using type = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<type, protocol::fatal_frame>) {
          close_connection(self, net::close_code::going_away, {}, "invalid frame");
        } else if constexpr (std::is_same_v<type, protocol::ping_message>) {
          on_ping(self, text, message);
        } else if constexpr (std::is_same_v<type, protocol::invalid_field>) {
          detail::send_bad_message(self, message.reply_to, "invalid type for field " + message.field);
        } else {
          if (auto error = protocol::check_field_limits(message, self->state.context->settings.fields))
            return detail::send_bad_message(self, message.id, *error);
          if (auto error = protocol::check_has_user(self->state.auth))
            return detail::send_error(self, message.id, *error);
          if constexpr (std::is_same_v<type, protocol::webrtc_message>)
            detail::handle_webrtc(self, message);
          else
            detail::handle_chats(self, message);
        }
      },
      frame);
}

connection_actor::behavior_type connection(connection_self self, protocol::auth_record auth,
                                           std::shared_ptr<net::frame_sink> sink,
                                           std::shared_ptr<const rtm_context> context) {
  auto& st = self->state;
  st.auth = std::move(auth);
  st.sink = std::move(sink);
  st.context = std::move(context);
  st.limiter.emplace(st.context->settings.rate_limit, self->clock().now());
  // Whatever ends this actor (quit, exit message, error) also ends the socket.
  self->attach_functor([sink = st.sink](const caf::error&) {
    sink->close(net::close_code::going_away);
  });
  // Channels that end are forgotten, and so are the memberships in them.
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    for (const auto& [id, channel] : st.channels)
      if (channel.address() == down.source) {
        st.groups.erase(id);
        st.calls.erase(id);
      }
    erase_by_address(st.channels, down.source);
  });
  detail::send_text(self, protocol::render_hello(st.auth.self()));
  if (log::enabled(spdlog::level::debug))
    log::debug("websocket connected", {{"connection", std::to_string(self->id())}, {"user", st.auth.user_id}});
  return {
      [=](text_atom, const std::string& text) {
        if (!self->state.closing && admit_frame(self, text.size(), true)) on_text(self, text);
        // Input flow control: net reads on once enough frames are processed (D20).
        self->state.sink->frame_processed(text.size());
      },
      [=](binary_atom, uint64_t size) {
        if (!self->state.closing) admit_frame(self, size, false);
        self->state.sink->frame_processed(0);  // net holds no bytes of a binary frame
      },
      [=](closed_atom) {
        if (log::enabled(spdlog::level::debug))
          log::debug("websocket disconnected",
                     {{"connection", std::to_string(self->id())}, {"user", self->state.auth.user_id}});
        self->state.closing = true;
        self->quit();
      },
      [=](left_atom, const std::string& channel_id, uint64_t membership) {
        auto& groups = self->state.groups;
        if (auto it = groups.find(channel_id); it != groups.end() && it->second == membership)
          groups.erase(it);
      },
      [=](rejoin_atom, const std::string& channel_id) { detail::rejoin_channel(self, channel_id); },
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
                                  std::shared_ptr<const rtm_context> context) {
  return system.spawn(connection, std::move(auth), std::move(sink), std::move(context));
}

std::unique_ptr<net::frame_listener> make_connection_listener(connection_actor actor) {
  return std::make_unique<connection_listener>(std::move(actor));
}

}  // namespace kwm::actors
