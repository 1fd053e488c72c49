#include "protocol/rtm_output.hpp"

namespace kwm::protocol {

std::string_view to_string(error_code code) {
  switch (code) {
    case error_code::bad_message:
      return "bad_message";
    case error_code::access_restricted:
      return "access_restricted";
    case error_code::create_restricted:
      return "create_restricted";
    case error_code::no_session_for_user:
      return "no_session_for_user";
  }
  return "server_error";
}

void write_self(json_writer& out, const self_info& self) {
  out.StartObject();
  write_field(out, "id", self.id);
  write_field(out, "name", self.name);
  if (self.with_auth) {
    write_field(out, "auth", self.auth);
  }
  out.EndObject();
}

void write_profile(json_writer& out, std::string_view display_name) {
  out.StartObject();
  if (!display_name.empty()) {
    write_field(out, "name", display_name);
  }
  out.EndObject();
}

std::string render_hello(const self_info& self) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_field(out, "type", "hello");
  write_key(out, "self");
  write_self(out, self);
  write_key(out, "server_status");
  out.StartObject();
  out.EndObject();
  out.EndObject();
  return take_string(buffer);
}

const std::string& goodbye_text() {
  static const std::string text = R"({"type":"goodbye","server_status":null})";
  return text;
}

std::string render_error(uint64_t reply_to, error_code code, std::string_view message) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_field(out, "type", "error");
  if (reply_to != 0) {
    write_key(out, "reply_to");
    out.Uint64(reply_to);
  }
  write_key(out, "error");
  out.StartObject();
  write_field(out, "code", to_string(code));
  write_field(out, "msg", message);
  out.EndObject();
  out.EndObject();
  return take_string(buffer);
}

}  // namespace kwm::protocol
