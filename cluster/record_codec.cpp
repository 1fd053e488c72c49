#include "cluster/record_codec.hpp"

#include "cluster/wire.hpp"

namespace kwm::cluster {
namespace {

constexpr uint8_t auth_format = 1;
constexpr uint8_t chat_format = 1;
constexpr uint8_t admin_format = 1;

void write_raw(wire_writer& out, const protocol::raw_json& value) {
  out.byte(static_cast<uint8_t>(value.presence));
  out.byte(static_cast<uint8_t>(value.type));
  out.bytes(value.text);
}

bool read_raw(wire_reader& in, protocol::raw_json& value) {
  const auto presence = in.byte();
  const auto type = in.byte();
  if (presence > static_cast<uint8_t>(protocol::json_presence::value) ||
      type > rapidjson::kNumberType)
    return false;
  value.presence = static_cast<protocol::json_presence>(presence);
  value.type = static_cast<rapidjson::Type>(type);
  value.text = std::string(in.bytes());
  return in.ok();
}

int64_t read_signed(wire_reader& in) {
  return static_cast<int64_t>(in.varint());
}

}  // namespace

std::string encode_auth_record(const protocol::auth_record& auth) {
  wire_writer out;
  out.byte(auth_format);
  out.byte(static_cast<uint8_t>(auth.kind));
  out.bytes(auth.user_id);
  out.bytes(auth.subject);
  out.bytes(auth.display_name);
  out.bytes(auth.auth_mode);
  out.bytes(auth.credential);
  out.varint(static_cast<uint64_t>(auth.expires_at));
  out.varint(static_cast<uint64_t>(auth.issued_at));
  out.byte(auth.can_create_channels ? 1 : 0);
  out.byte(auth.group_restriction ? 1 : 0);
  if (auth.group_restriction) {
    out.varint(auth.group_restriction->size());
    for (const auto& path : *auth.group_restriction) out.bytes(path);
  }
  return out.take();
}

std::optional<protocol::auth_record> decode_auth_record(std::string_view encoded) {
  wire_reader in(encoded);
  if (in.byte() != auth_format) return std::nullopt;
  protocol::auth_record auth;
  const auto kind = in.byte();
  if (kind > static_cast<uint8_t>(protocol::auth_kind::bearer)) return std::nullopt;
  auth.kind = static_cast<protocol::auth_kind>(kind);
  auth.user_id = std::string(in.bytes());
  auth.subject = std::string(in.bytes());
  auth.display_name = std::string(in.bytes());
  auth.auth_mode = std::string(in.bytes());
  auth.credential = std::string(in.bytes());
  auth.expires_at = read_signed(in);
  auth.issued_at = read_signed(in);
  auth.can_create_channels = in.byte() == 1;
  if (in.byte() == 1) {
    auto& paths = auth.group_restriction.emplace();
    for (auto count = in.count(1); count > 0 && in.ok(); --count) paths.emplace(in.bytes());
  }
  if (!in.ok()) return std::nullopt;
  return auth;
}

std::string encode_admin_token(const protocol::admin_token_object& token) {
  wire_writer out;
  out.byte(admin_format);
  out.bytes(token.type);
  out.bytes(token.sub);
  out.bytes(token.value);
  write_raw(out, token.claims);
  return out.take();
}

std::optional<protocol::admin_token_object> decode_admin_token(std::string_view encoded,
                                                               int64_t exp) {
  wire_reader in(encoded);
  if (in.byte() != admin_format) return std::nullopt;
  protocol::admin_token_object token;
  token.type = std::string(in.bytes());
  token.sub = std::string(in.bytes());
  token.value = std::string(in.bytes());
  if (!read_raw(in, token.claims)) return std::nullopt;
  token.exp = exp;
  return token;
}

std::string encode_chats_message(const protocol::chats_message& message) {
  wire_writer out;
  out.byte(chat_format);
  out.varint(message.id);
  out.bytes(message.subtype);
  out.bytes(message.channel);
  out.bytes(message.group);
  out.varint(message.v);
  out.bytes(message.transaction);
  write_raw(out, message.data);
  out.byte(message.message ? 1 : 0);
  if (const auto& data = message.message) {
    out.bytes(data->kind);
    out.bytes(data->sender);
    out.bytes(data->target);
    out.varint(static_cast<uint64_t>(data->ts));
    out.bytes(data->text);
    out.bytes(data->rich_text);
    out.bytes(data->id);
    write_raw(out, data->extra);
  }
  return out.take();
}

std::optional<protocol::chats_message> decode_chats_message(std::string_view encoded) {
  wire_reader in(encoded);
  if (in.byte() != chat_format) return std::nullopt;
  protocol::chats_message message;
  message.id = in.varint();
  message.subtype = std::string(in.bytes());
  message.channel = std::string(in.bytes());
  message.group = std::string(in.bytes());
  message.v = in.varint();
  message.transaction = std::string(in.bytes());
  if (!read_raw(in, message.data)) return std::nullopt;
  if (in.byte() == 1) {
    auto& data = message.message.emplace();
    data.kind = std::string(in.bytes());
    data.sender = std::string(in.bytes());
    data.target = std::string(in.bytes());
    data.ts = read_signed(in);
    data.text = std::string(in.bytes());
    data.rich_text = std::string(in.bytes());
    data.id = std::string(in.bytes());
    if (!read_raw(in, data.extra)) return std::nullopt;
  }
  if (!in.ok()) return std::nullopt;
  return message;
}

}  // namespace kwm::cluster
