#pragma once
// D20: no frame the server fans out to other connections may be larger than a receiver's
// outgoing queue holds (D13), or every receiver would be closed as a slow consumer. The
// field limits make such frames bounded; this computes the bound by rendering each kind of
// fan-out frame with every client string at its limit, made of the bytes JSON escapes the
// longest (control characters, 6 bytes each).
#include <cstddef>
#include <optional>
#include <string_view>

#include "protocol/field_limits.hpp"

namespace kwm::protocol {

struct fanout_frame {
  std::string_view kind;  // "relayed webrtc message", "group member list", "chat message"
  std::size_t bytes = 0;
};

// The largest fan-out frame; nullopt when a limit it depends on is off (0), so that no bound
// exists. `max_input_bytes` caps every client string (no string is larger than the message
// or request that carries it), so that huge limits cost no huge renderings.
std::optional<fanout_frame> largest_fanout_frame(const field_limits& limits,
                                                 std::size_t max_group_members,
                                                 std::size_t max_input_bytes);

}  // namespace kwm::protocol
