#pragma once
// The connection actor: one per RTM WebSocket. It owns the connection's auth (D7),
// processes its frames strictly in order and writes to its socket through the sink.
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/actors.hpp"
#include "actors/metrics.hpp"
#include "actors/pipeline.hpp"
#include "protocol/channel_hash.hpp"
#include "protocol/field_limits.hpp"
#include "protocol/json_reader.hpp"
#include "protocol/rate_limit.hpp"

namespace kwm::actors {

struct connection_settings {
  protocol::rate_limit_settings rate_limit;
  protocol::field_limits fields;
  protocol::json_limits json;  // nesting and element count of a frame (D18)
  // Channel memberships one connection may hold at once (D20); 0 = unlimited.
  uint32_t max_groups = 64;  // group channels it is the member connection of
  uint32_t max_calls = 64;   // 1:1 channels it is a member of (created or answered)
};

// What every connection actor works with; shared and never modified.
struct rtm_context {
  user_directory_actor directory;
  channel_registry_actor channels;
  admin_tokens_actor admin;  // invalid without an admin tokens key
  std::shared_ptr<const protocol::channel_hasher> hasher;
  connection_settings settings;
  metrics_pointer metrics = std::make_shared<server_metrics>();
  pipeline_settings_pointer pipelines;  // set with --enable-mcu-api

  bool is_pipelined(const std::string& channel_id) const { return pipelines && pipelines->applies_to(channel_id); }
};

struct connection_state {
  static inline const char* name = "connection";

  protocol::auth_record auth;
  std::shared_ptr<net::frame_sink> sink;
  std::shared_ptr<const rtm_context> context;
  std::optional<protocol::frame_rate_limiter> limiter;
  // Channels this connection has used, so that signals need no registry lookup. Entries
  // go when the channel ends (monitored).
  std::unordered_map<std::string, channel_actor> channels;
  // Channels whose member connection this is, for the caps of D20: groups by channel id with
  // the membership number of the join (a `left` notice for an older membership is stale),
  // and 1:1 channels. An entry goes when this connection hangs up there, is replaced, or
  // the channel ends.
  std::unordered_map<std::string, uint64_t> groups;
  std::unordered_set<std::string> calls;
  bool closing = false;
};

using connection_impl = connection_actor::stateful_base<connection_state>;

// Sends `hello` right away; the sink holds it until the WebSocket is open.
connection_actor spawn_connection(caf::actor_system& system, protocol::auth_record auth,
                                  std::shared_ptr<net::frame_sink> sink,
                                  std::shared_ptr<const rtm_context> context);

// Feeds a WebSocket's frames to its connection actor.
std::unique_ptr<net::frame_listener> make_connection_listener(connection_actor actor);

}  // namespace kwm::actors
