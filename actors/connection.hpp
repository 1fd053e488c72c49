#pragma once
// The connection actor: one per RTM WebSocket. It owns the connection's auth (D7),
// processes its frames strictly in order and writes to its socket through the sink.
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <optional>

#include "actors/actors.hpp"
#include "protocol/rate_limit.hpp"

namespace kwm::actors {

struct connection_settings {
  protocol::rate_limit_settings rate_limit;
};

struct connection_state {
  static inline const char* name = "connection";

  protocol::auth_record auth;
  std::shared_ptr<net::frame_sink> sink;
  user_directory_actor directory;
  std::optional<protocol::frame_rate_limiter> limiter;
  bool closing = false;
};

using connection_impl = connection_actor::stateful_base<connection_state>;

// Sends `hello` right away; the sink holds it until the WebSocket is open.
connection_actor spawn_connection(caf::actor_system& system, protocol::auth_record auth,
                                  std::shared_ptr<net::frame_sink> sink,
                                  user_directory_actor directory, connection_settings settings);

// Feeds a WebSocket's frames to its connection actor.
std::unique_ptr<net::frame_listener> make_connection_listener(connection_actor actor);

}  // namespace kwm::actors
