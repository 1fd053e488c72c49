#pragma once
// Server → MCU control frames (spec §3.17): `attach` and `detach` (WebsocketMessage, every
// key always written).
#include <cstdint>
#include <string>
#include <string_view>

namespace kwm::protocol {

inline constexpr std::string_view mcu_plugin = "kwm.rtm.channel";
inline constexpr std::string_view mcu_subprotocol = "kwmmcu-protocol";
inline constexpr std::string_view pipeline_mode = "mcu-forward";

// `{"type":…,"transaction":…,"plugin":"kwm.rtm.channel","handle_id":…}`
std::string render_mcu_control(std::string_view type, std::string_view transaction, int64_t handle_id);

// The announcement written to a data socket when it opens: `webrtc_channel` with
// data.pipeline for `channel`.
std::string render_pipeline_announcement(std::string_view channel);

}  // namespace kwm::protocol
