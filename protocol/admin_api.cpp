#include "protocol/admin_api.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "protocol/json.hpp"
#include "protocol/json_reader.hpp"

namespace kwm::protocol {
namespace {

const char* json_kind(const rapidjson::Value& v) {
  if (v.IsString()) return "string";
  if (v.IsNumber()) return "number";
  if (v.IsBool()) return "bool";
  if (v.IsArray()) return "array";
  if (v.IsObject()) return "object";
  return "null";
}

std::string unmarshal_error(const rapidjson::Value& v, std::string_view field, std::string_view go_type) {
  return std::string("json: cannot unmarshal ") + json_kind(v) + " into Go struct field AdminAuthToken." +
         std::string(field) + " of type " + std::string(go_type);
}

void write_token(json_writer& out, const admin_token_object& token) {
  out.StartObject();
  if (!token.sub.empty()) {
    write_field(out, "sub", token.sub);
  }
  write_field(out, "type", token.type);
  if (!token.value.empty()) {
    write_field(out, "value", token.value);
  }
  if (token.exp != 0) {
    write_key(out, "exp");
    out.Int64(token.exp);
  }
  if (token.claims.presence == json_presence::value) {
    write_key(out, "claims");
    write_raw(out, token.claims.text, token.claims.type);
  }
  out.EndObject();
}

}  // namespace

std::variant<admin_token_object, std::string> parse_admin_token_object(std::string_view body) {
  rapidjson::Document doc;
  if (const auto parsed = read_json(body, doc); parsed.IsError()) {
    // Go's wording for input that ends too early, which is what a truncated body gives.
    if (parsed.Offset() >= body.find_last_not_of(" \t\r\n") + 1 ||
        body.find_first_not_of(" \t\r\n") == std::string_view::npos)
      return std::string("unexpected end of JSON input");
    return std::string(rapidjson::GetParseError_En(parsed.Code())) + " at offset " +
           std::to_string(parsed.Offset());
  }
  if (!doc.IsObject())
    return std::string("json: cannot unmarshal ") + json_kind(doc) + " into Go value of type admin.AdminAuthToken";
  admin_token_object token;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    const auto& v = it->value;
    auto read_string = [&](std::string& out) -> bool {
      if (v.IsNull()) return true;
      if (!v.IsString()) return false;
      out.assign(v.GetString(), v.GetStringLength());
      return true;
    };
    if (name == "sub") {
      if (!read_string(token.sub)) return unmarshal_error(v, "sub", "string");
    } else if (name == "type") {
      if (!read_string(token.type)) return unmarshal_error(v, "type", "string");
    } else if (name == "value") {
      if (!read_string(token.value)) return unmarshal_error(v, "value", "string");
    } else if (name == "exp") {
      if (!v.IsNull() && !v.IsInt64()) return unmarshal_error(v, "exp", "int64");
      token.exp = v.IsNull() ? 0 : v.GetInt64();
    } else if (name == "claims") {
      if (!v.IsNull() && !v.IsObject()) return unmarshal_error(v, "claims", "map[string]interface {}");
      if (v.IsObject()) {
        rapidjson::StringBuffer buffer;
        json_writer out(buffer);
        write_sorted(out, v);
        token.claims = {json_presence::value, rapidjson::kObjectType, take_string(buffer)};
      }
    }
  }
  return token;
}

std::string render_admin_token(const admin_token_object& token) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  write_token(out, token);
  return take_string(buffer) + "\n";
}

void append_admin_token(std::string& out, const admin_token_object& token) {
  rapidjson::StringBuffer buffer;
  json_writer writer(buffer);
  write_token(writer, token);
  out.append(buffer.GetString(), buffer.GetSize());
}

std::string render_admin_tokens(const std::vector<admin_token_object>& tokens) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartArray();
  for (const auto& token : tokens) write_token(out, token);
  out.EndArray();
  return take_string(buffer) + "\n";
}

}  // namespace kwm::protocol
