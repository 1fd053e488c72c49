#include "protocol/webrtc_output.hpp"

#include "protocol/json.hpp"
#include "protocol/rtm_output.hpp"

namespace kwm::protocol {
namespace {

void write_if(json_writer& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  write_field(out, key, value);
}

void write_extra(json_writer& out, const channel_extra& extra) {
  out.StartObject();
  if (extra.group) {
    write_key(out, "group");
    out.StartObject();
    write_field(out, "group", extra.group->group);
    write_key(out, "members");
    out.StartArray();
    for (const auto& member : extra.group->members) write_string(out, member);
    out.EndArray();
    write_key(out, "reset");
    out.Bool(extra.group->reset);
    out.EndObject();
  }
  if (extra.pipeline) {
    write_key(out, "pipeline");
    out.StartObject();
    write_field(out, "pipeline", extra.pipeline->pipeline);
    write_field(out, "mode", extra.pipeline->mode);
    out.EndObject();
  }
  if (extra.replaced) {
    write_key(out, "replaced");
    out.Bool(true);
  }
  out.EndObject();
}

}  // namespace

std::string render_forwarded(const webrtc_message& message, const forward_options& options) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  if (options.keep_id && message.id != 0) {
    write_key(out, "id");
    out.Uint64(message.id);
  }
  write_field(out, "type", "webrtc");
  write_field(out, "subtype", message.subtype);
  write_field(out, "target", message.target);
  write_field(out, "source", options.source);
  if (options.profile) {
    write_key(out, "profile");
    write_profile(out, *options.profile);
  }
  if (message.initiator) {
    write_key(out, "initiator");
    out.Bool(true);
  }
  write_if(out, "state", message.state);
  write_if(out, "channel", message.channel);
  write_if(out, "group", message.group);
  write_if(out, "hash", options.hash ? *options.hash : std::string_view(message.hash));
  write_key(out, "v");
  out.Uint64(message.v);
  write_if(out, "transaction", message.transaction);
  write_if(out, "pcid", message.pcid);
  if (message.data.presence == json_presence::value) {
    write_key(out, "data");
    write_raw(out, message.data.text, message.data.type);
  }
  out.EndObject();
  return take_string(buffer);
}

std::string render_channel_message(uint64_t reply_to, std::string_view channel,
                                   std::string_view hash, const channel_extra& extra) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_field(out, "type", "webrtc");
  write_field(out, "subtype", "webrtc_channel");
  if (reply_to != 0) {
    write_key(out, "reply_to");
    out.Uint64(reply_to);
  }
  write_if(out, "channel", channel);
  write_if(out, "hash", hash);
  write_key(out, "v");
  out.Uint64(webrtc_payload_version);
  if (!extra.empty()) {
    write_key(out, "data");
    write_extra(out, extra);
  }
  out.EndObject();
  return take_string(buffer);
}

std::string render_taken_elsewhere(std::string_view caller, std::string_view channel) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_field(out, "type", "webrtc");
  write_field(out, "subtype", "webrtc_call");
  write_field(out, "target", "");
  write_field(out, "source", caller);
  write_key(out, "initiator");
  out.Bool(true);
  write_field(out, "channel", channel);
  write_key(out, "v");
  out.Uint64(webrtc_payload_version);
  out.EndObject();
  return take_string(buffer);
}

}  // namespace kwm::protocol
