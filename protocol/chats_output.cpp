#include "protocol/chats_output.hpp"

#include <chrono>

#include "protocol/json.hpp"
#include "protocol/random.hpp"
#include "protocol/rtm_output.hpp"

namespace kwm::protocol {
namespace {

void write_chat_data(json_writer& out, const chat_data& data) {
  out.StartObject();
  write_field(out, "kind", data.kind);
  write_field(out, "sender", data.sender);
  write_field(out, "target", data.target);
  write_key(out, "ts");
  out.Int64(data.ts);
  write_field(out, "text", data.text);
  if (!data.rich_text.empty()) {
    write_field(out, "richText", data.rich_text);
  }
  write_field(out, "id", data.id);
  if (data.extra.presence == json_presence::value) {
    write_key(out, "extra");
    write_raw(out, data.extra.text, data.extra.type);
  }
  out.EndObject();
}

// The parts RTMTypeChats and RTMTypeChatsReply share: the head, and `v` + `data`.
void start_chats(json_writer& out, std::string_view subtype) {
  out.StartObject();
  write_field(out, "type", "chats");
  write_field(out, "subtype", subtype);
}

std::string finish_chats(rapidjson::StringBuffer& buffer, json_writer& out, const chat_data& data) {
  write_key(out, "v");
  out.Uint64(chats_payload_version);
  write_key(out, "data");
  write_chat_data(out, data);
  out.EndObject();
  return take_string(buffer);
}

}  // namespace

std::string render_chats(std::string_view subtype, std::string_view channel,
                         std::optional<std::string_view> profile, const chat_data& data) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  start_chats(out, subtype);
  write_field(out, "channel", channel);
  if (profile) {
    write_key(out, "profile");
    write_profile(out, *profile);
  }
  return finish_chats(buffer, out, data);
}

std::string render_chats_reply(uint64_t reply_to, std::string_view subtype, std::string_view channel,
                               const chat_data& data) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  start_chats(out, subtype);
  if (reply_to != 0) {
    write_key(out, "reply_to");
    out.Uint64(reply_to);
  }
  if (!channel.empty()) write_field(out, "channel", channel);
  return finish_chats(buffer, out, data);
}

chat_data membership_notice(std::string_view user_id, std::string_view display_name, bool joined,
                            int64_t now_seconds) {
  chat_data data;
  data.kind = "system";
  data.sender = std::string(user_id);
  data.ts = now_seconds;
  std::string who(display_name.empty() ? user_id : display_name);
  if (who.empty()) who = "Unknown user";
  data.text = who + (joined ? " has joined the meeting." : " has left the meeting.");
  data.id = random_string(message_id_bytes);
  data.extra.presence = json_presence::value;
  data.extra.type = rapidjson::kObjectType;
  data.extra.text = joined ? R"({"id":"joined"})" : R"({"id":"left"})";
  return data;
}

chat_data delivery_notice(std::string_view message_id) {
  chat_data data;
  data.kind = "delivery_queued";
  data.id = std::string(message_id);
  return data;
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kwm::protocol
