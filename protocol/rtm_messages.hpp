#pragma once
// RTM WebSocket messages as C++ values (spec §3). Parsing is in rtm_parse.hpp, output
// in rtm_output.hpp. Field names follow the wire names.
#include <rapidjson/rapidjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace kwm::protocol {

// Payload versions the server stamps on its own messages (spec §3.3).
inline constexpr uint64_t webrtc_payload_version = 20180703;
inline constexpr uint64_t chats_payload_version = 20201201;

enum class json_presence : uint8_t { absent, null, value };

// A client-supplied JSON value that is passed through verbatim, kept as compact JSON.
struct raw_json {
  json_presence presence = json_presence::absent;
  rapidjson::Type type = rapidjson::kNullType;
  std::string text;

  // Absent and null both count as empty wherever a value is required (D3).
  bool empty() const { return presence != json_presence::value; }
  bool is_object() const { return presence == json_presence::value && type == rapidjson::kObjectType; }
};

// `data` of call answers and hangups (RTMDataWebRTCAccept).
struct accept_data {
  bool accept = false;
  std::string state;
  std::string reason;
};

// RTMTypeWebRTC, client to server (spec §3.7).
struct webrtc_message {
  uint64_t id = 0;
  std::string subtype;
  std::string target;
  std::string source;
  bool profile_set = false;  // a non-null `profile` was sent; clients may not set it
  bool initiator = false;
  std::string state;
  std::string channel;
  std::string group;
  std::string hash;
  uint64_t v = 0;
  std::string transaction;
  std::string pcid;
  raw_json data;
  // `data` read as accept data; empty when `data` is empty. When `data` is present but not
  // an object, or one of its keys has the wrong type, `answer_type_error` names the field.
  std::optional<accept_data> answer;
  std::string answer_type_error;
};

// RTMDataChatsMessage (spec §3.16).
struct chat_data {
  std::string kind;
  std::string sender;
  std::string target;
  int64_t ts = 0;
  std::string text;
  std::string rich_text;
  std::string id;
  raw_json extra;  // written with sorted keys
};

// RTMTypeChats, client to server (spec §3.16).
struct chats_message {
  uint64_t id = 0;
  std::string subtype;
  std::string channel;
  std::string group;
  uint64_t v = 0;
  std::string transaction;
  raw_json data;
  std::optional<chat_data> message;  // set when `data` is a well-typed object
};

// A ping, already answered: the pong text with the ping's keys echoed and sorted.
struct ping_message {
  uint64_t id = 0;  // the ping's `id` when it is a valid unsigned integer
  std::string pong;
};

// A `webrtc` or `chats` message with a wrongly typed known field (D3): answered with
// `bad_message` `invalid type for field <field>`; the connection stays open.
struct invalid_field {
  uint64_t reply_to = 0;
  std::string field;
};

// Invalid JSON, a non-object value, or a missing or unknown `type`: goodbye, close 1001.
struct fatal_frame {};

using client_frame =
    std::variant<fatal_frame, ping_message, invalid_field, webrtc_message, chats_message>;

}  // namespace kwm::protocol
