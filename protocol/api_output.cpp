#include "protocol/api_output.hpp"

#include "protocol/json.hpp"
#include "protocol/rtm_output.hpp"

namespace kwm::protocol {
namespace {

void write_turn(json_writer& out, const turn_credentials& turn) {
  out.StartObject();
  write_field(out, "username", turn.username);
  write_field(out, "password", turn.password);
  write_key(out, "ttl");
  out.Int64(turn.ttl);
  write_key(out, "uris");
  out.StartArray();
  for (const auto& uri : turn.uris) write_string(out, uri);
  out.EndArray();
  out.EndObject();
}

std::string finish(rapidjson::StringBuffer& buffer) {
  std::string body = take_string(buffer);
  body += '\n';
  return body;
}

}  // namespace

std::string render_connect_response(std::string_view url, const self_info& self,
                                    const std::optional<turn_credentials>& turn) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_key(out, "ok");
  out.Bool(true);
  write_field(out, "url", url);
  write_key(out, "self");
  write_self(out, self);
  if (turn) {
    write_key(out, "turn");
    write_turn(out, *turn);
  }
  write_key(out, "server_status");
  out.StartObject();
  out.EndObject();
  out.EndObject();
  return finish(buffer);
}

std::string render_turn_response(const turn_credentials& turn) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_key(out, "ok");
  out.Bool(true);
  write_key(out, "turn");
  write_turn(out, turn);
  out.EndObject();
  return finish(buffer);
}

}  // namespace kwm::protocol
