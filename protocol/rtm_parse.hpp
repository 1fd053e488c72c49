#pragma once
// Incoming RTM text frames → client_frame (spec §3.2 steps 2–4). The rate limit (step 1)
// and the per-connection checks (step 5 onwards) belong to the connection actor.
#include <string>
#include <string_view>

#include "protocol/json_reader.hpp"
#include "protocol/rtm_messages.hpp"

namespace kwm::protocol {

// Invalid JSON under D18 (including text over `limits`) is a fatal_frame.
client_frame parse_client_frame(std::string_view text, const json_limits& limits = {});

// The pong for a ping frame, with `auth` added (or replaced) when `auth` is non-empty
// (token renewal, D8). Returns an empty string when `ping_text` is not a JSON object.
std::string render_pong(std::string_view ping_text, std::string_view auth,
                        const json_limits& limits = {});

}  // namespace kwm::protocol
