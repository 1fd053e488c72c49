#include "protocol/rtm_parse.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "protocol/json.hpp"
#include "protocol/json_reader.hpp"

namespace kwm::protocol {
namespace {

using value = rapidjson::Value;

bool name_is(const value& name, std::string_view key) {
  return name.GetStringLength() == key.size() &&
         std::memcmp(name.GetString(), key.data(), key.size()) == 0;
}

std::string_view view_of(const value& v) { return {v.GetString(), v.GetStringLength()}; }

std::string compact_json(const value& v, bool sorted) {
  rapidjson::StringBuffer buffer;
  json_writer writer(buffer);
  if (sorted)
    write_sorted(writer, v);
  else
    v.Accept(writer);
  return take_string(buffer);
}

raw_json raw_of(const value& v, bool sorted = false) {
  raw_json raw;
  if (v.IsNull()) {
    raw.presence = json_presence::null;
    return raw;
  }
  raw.presence = json_presence::value;
  raw.type = v.GetType();
  raw.text = compact_json(v, sorted);
  return raw;
}

// Field readers: JSON null means "absent" (the zero value); a wrong type fails.
bool read_string(const value& v, std::string& out) {
  if (v.IsNull()) {
    out.clear();
    return true;
  }
  if (!v.IsString()) return false;
  out.assign(v.GetString(), v.GetStringLength());
  return true;
}

bool read_uint64(const value& v, uint64_t& out) {
  if (v.IsNull()) {
    out = 0;
    return true;
  }
  if (!v.IsUint64()) return false;
  out = v.GetUint64();
  return true;
}

bool read_int64(const value& v, int64_t& out) {
  if (v.IsNull()) {
    out = 0;
    return true;
  }
  if (!v.IsInt64()) return false;
  out = v.GetInt64();
  return true;
}

bool read_bool(const value& v, bool& out) {
  if (v.IsNull()) {
    out = false;
    return true;
  }
  if (!v.IsBool()) return false;
  out = v.GetBool();
  return true;
}

// Envelope fields shared by `webrtc` and `chats` (spec §3.2 step 4).
struct envelope_reader {
  std::string first_error;
  bool id_valid = true;

  void check(bool ok, std::string_view key) {
    if (!ok && first_error.empty()) first_error = key;
  }
};

void read_accept_data(const value& data, webrtc_message& msg) {
  if (!data.IsObject()) {
    msg.answer_type_error = "data";
    return;
  }
  accept_data answer;
  for (auto it = data.MemberBegin(); it != data.MemberEnd(); ++it) {
    const auto& name = it->name;
    bool ok = true;
    std::string_view field;
    if (name_is(name, "accept")) {
      ok = read_bool(it->value, answer.accept);
      field = "data.accept";
    } else if (name_is(name, "state")) {
      ok = read_string(it->value, answer.state);
      field = "data.state";
    } else if (name_is(name, "reason")) {
      ok = read_string(it->value, answer.reason);
      field = "data.reason";
    }
    if (!ok && msg.answer_type_error.empty()) msg.answer_type_error = field;
  }
  if (msg.answer_type_error.empty()) msg.answer = std::move(answer);
}

std::optional<chat_data> read_chat_data(const value& data) {
  if (!data.IsObject()) return std::nullopt;
  chat_data chat;
  for (auto it = data.MemberBegin(); it != data.MemberEnd(); ++it) {
    const auto& name = it->name;
    const auto& v = it->value;
    bool ok = true;
    if (name_is(name, "kind"))
      ok = read_string(v, chat.kind);
    else if (name_is(name, "sender"))
      ok = read_string(v, chat.sender);
    else if (name_is(name, "target"))
      ok = read_string(v, chat.target);
    else if (name_is(name, "ts"))
      ok = read_int64(v, chat.ts);
    else if (name_is(name, "text"))
      ok = read_string(v, chat.text);
    else if (name_is(name, "richText"))
      ok = read_string(v, chat.rich_text);
    else if (name_is(name, "id"))
      ok = read_string(v, chat.id);
    else if (name_is(name, "extra")) {
      ok = v.IsNull() || v.IsObject();
      if (ok) chat.extra = raw_of(v, true);
    }
    if (!ok) return std::nullopt;
  }
  return chat;
}

template <class Message>
client_frame read_typed(const value& object) {
  Message msg;
  envelope_reader env;
  const value* data = nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const auto& name = it->name;
    const auto& v = it->value;
    if (name_is(name, "id")) {
      env.id_valid = read_uint64(v, msg.id);
      if (!env.id_valid) msg.id = 0;
      env.check(env.id_valid, "id");
    } else if (name_is(name, "v")) {
      env.check(read_uint64(v, msg.v), "v");
    } else if (name_is(name, "subtype")) {
      env.check(read_string(v, msg.subtype), "subtype");
    } else if (name_is(name, "channel")) {
      env.check(read_string(v, msg.channel), "channel");
    } else if (name_is(name, "group")) {
      env.check(read_string(v, msg.group), "group");
    } else if (name_is(name, "transaction")) {
      env.check(read_string(v, msg.transaction), "transaction");
    } else if (name_is(name, "data")) {
      data = &v;
    } else if constexpr (std::is_same_v<Message, webrtc_message>) {
      std::string ignored;
      if (name_is(name, "target"))
        env.check(read_string(v, msg.target), "target");
      else if (name_is(name, "source"))
        env.check(read_string(v, msg.source), "source");
      else if (name_is(name, "state"))
        env.check(read_string(v, msg.state), "state");
      else if (name_is(name, "hash"))
        env.check(read_string(v, msg.hash), "hash");
      else if (name_is(name, "pcid"))
        env.check(read_string(v, msg.pcid), "pcid");
      else if (name_is(name, "initiator"))
        env.check(read_bool(v, msg.initiator), "initiator");
      else if (name_is(name, "profile"))
        msg.profile_set = !v.IsNull();
    } else {
      // chats: the webrtc-only fields are still type-checked (spec §3.2 step 4).
      std::string text;
      bool flag = false;
      if (name_is(name, "target") || name_is(name, "source") || name_is(name, "state") ||
          name_is(name, "hash") || name_is(name, "pcid"))
        env.check(read_string(v, text), view_of(name));
      else if (name_is(name, "initiator"))
        env.check(read_bool(v, flag), "initiator");
    }
  }
  if (!env.first_error.empty()) return invalid_field{env.id_valid ? msg.id : 0, env.first_error};
  if (data != nullptr) {
    msg.data = raw_of(*data);
    if constexpr (std::is_same_v<Message, webrtc_message>) {
      if (!data->IsNull()) read_accept_data(*data, msg);
    } else {
      if (!data->IsNull()) msg.message = read_chat_data(*data);
    }
  }
  return msg;
}

const value* last_member(const value& object, std::string_view key) {
  const value* found = nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    if (name_is(it->name, key)) found = &it->value;
  return found;
}

std::string pong_of(const value& ping, std::string_view auth) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  std::vector<std::pair<std::string_view, const value*>> members;
  members.reserve(ping.MemberCount() + 1);
  for (auto it = ping.MemberBegin(); it != ping.MemberEnd(); ++it) {
    const auto key = view_of(it->name);
    if (key == "type" || (key == "auth" && !auth.empty())) continue;
    members.emplace_back(key, &it->value);
  }
  static const value pong_type("pong");
  members.emplace_back("type", &pong_type);
  value auth_value;
  if (!auth.empty()) {
    auth_value.SetString(auth.data(), static_cast<rapidjson::SizeType>(auth.size()));
    members.emplace_back("auth", &auth_value);
  }
  std::stable_sort(members.begin(), members.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  out.StartObject();
  for (size_t i = 0; i < members.size(); ++i) {
    if (i + 1 < members.size() && members[i].first == members[i + 1].first) continue;
    write_key(out, members[i].first);
    write_sorted(out, *members[i].second);
  }
  out.EndObject();
  return take_string(buffer);
}

}  // namespace

client_frame parse_client_frame(std::string_view text, const json_limits& limits) {
  return with_json(text, limits, [](const value* root) -> client_frame {
    if (root == nullptr || !root->IsObject()) return fatal_frame{};
    const value* type = last_member(*root, "type");
    if (type == nullptr || !type->IsString()) return fatal_frame{};
    const auto type_name = view_of(*type);
    if (type_name == "ping") {
      ping_message ping;
      if (const value* id = last_member(*root, "id"); id != nullptr && id->IsUint64())
        ping.id = id->GetUint64();
      ping.pong = pong_of(*root, {});
      return ping;
    }
    if (type_name == "webrtc") return read_typed<webrtc_message>(*root);
    if (type_name == "chats") return read_typed<chats_message>(*root);
    return fatal_frame{};
  });
}

std::string render_pong(std::string_view ping_text, std::string_view auth,
                        const json_limits& limits) {
  return with_json(ping_text, limits, [&](const value* root) -> std::string {
    if (root == nullptr || !root->IsObject()) return {};
    return pong_of(*root, auth);
  });
}

}  // namespace kwm::protocol
