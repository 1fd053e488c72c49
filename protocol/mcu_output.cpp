#include "protocol/mcu_output.hpp"

#include "protocol/json.hpp"
#include "protocol/webrtc_output.hpp"

namespace kwm::protocol {

std::string render_mcu_control(std::string_view type, std::string_view transaction, int64_t handle_id) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_field(out, "type", type);
  write_field(out, "transaction", transaction);
  write_field(out, "plugin", mcu_plugin);
  write_key(out, "handle_id");
  out.Int64(handle_id);
  out.EndObject();
  return take_string(buffer);
}

std::string render_pipeline_announcement(std::string_view channel) {
  channel_extra extra;
  extra.pipeline = pipeline_extra{std::string(channel), std::string(pipeline_mode)};
  return render_channel_message(0, channel, "", extra);
}

}  // namespace kwm::protocol
