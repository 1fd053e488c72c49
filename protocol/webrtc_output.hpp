#pragma once
// Server → client `webrtc` frames (spec §3.7, §3.10–§3.14): forwarded client messages
// (RTMTypeWebRTC) and server replies and notifications (RTMTypeWebRTCReply).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/rtm_messages.hpp"

namespace kwm::protocol {

// How a client message is re-serialised for its addressee.
struct forward_options {
  std::string_view source;                  // the sender's user id
  std::optional<std::string_view> profile;  // sender's display name; nullopt = no `profile` key
  std::optional<std::string_view> hash;     // replaces the message's hash when set
  bool keep_id = false;                     // only into an MCU pipeline
};

std::string render_forwarded(const webrtc_message& message, const forward_options& options);

// Extra data of `webrtc_channel` (RTMDataWebRTCChannelExtra).
struct group_extra {
  std::string group;
  std::vector<std::string> members;  // sorted
  bool reset = false;
};
struct pipeline_extra {
  std::string pipeline;
  std::string mode = "mcu-forward";
};
struct channel_extra {
  std::optional<group_extra> group;
  std::optional<pipeline_extra> pipeline;
  bool replaced = false;

  bool empty() const { return !group && !pipeline && !replaced; }
};

// `webrtc_channel`: the reply to a call or group join, or a group notification
// (reply_to 0 and hash "" are omitted).
std::string render_channel_message(uint64_t reply_to, std::string_view channel,
                                   std::string_view hash, const channel_extra& extra);

// The "call taken elsewhere" notice to a callee's other connections (spec §3.11).
std::string render_taken_elsewhere(std::string_view caller, std::string_view channel);

}  // namespace kwm::protocol
