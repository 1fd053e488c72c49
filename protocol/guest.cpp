#include "protocol/guest.hpp"

#include <array>
#include <cctype>

#include "protocol/chats_rules.hpp"
#include "protocol/json.hpp"
#include "protocol/random.hpp"

namespace kwm::protocol {
namespace {

constexpr std::array<std::string_view, 24> adjectives = {
    "amber", "brave", "calm", "clever", "copper", "dapper", "eager", "gentle", "golden", "happy", "jolly", "keen",
    "lively", "lucky", "mellow", "nimble", "pebble", "quiet", "rapid", "silver", "sunny", "swift", "witty", "zesty"};
constexpr std::array<std::string_view, 24> nouns = {
    "antler", "badger", "beacon", "comet", "falcon", "feather", "harbor", "heron", "lantern", "maple", "meadow", "otter",
    "pepper", "pine", "raven", "river", "sparrow", "spruce", "thistle", "thunder", "tulip", "walrus", "willow", "wren"};

uint32_t random_index(std::size_t bound) {
  const auto bytes = random_bytes(4);
  uint32_t value = 0;
  for (char c : bytes) value = value << 8 | static_cast<uint8_t>(c);
  return value % bound;
}

std::string title_case(std::string_view word) {
  std::string out(word);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string strip_html(std::string_view text) {
  std::string out;
  bool in_tag = false;
  for (char c : text) {
    if (c == '<') in_tag = true;
    else if (c == '>' && in_tag) in_tag = false;
    else if (!in_tag) out += c;
  }
  return out;
}

}  // namespace

bool is_signing_algorithm(std::string_view alg) {
  for (std::string_view known : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
    if (alg == known) return true;
  return false;
}

std::optional<json_web_key> choose_signing_key(const std::vector<json_web_key>& keys) {
  const json_web_key* chosen = nullptr;
  if (keys.size() == 1) {
    chosen = &keys.front();
  } else {
    for (const auto& key : keys)
      if (key.kid() == "default") chosen = &key;
  }
  if (chosen == nullptr || (!chosen->use().empty() && chosen->use() != "sig")) return std::nullopt;
  return *chosen;
}

std::string new_guest_id() { return random_string(token_subject_bytes) + "@1.kwmguest"; }

std::string random_guest_name() {
  return title_case(adjectives[random_index(adjectives.size())]) + " " +
         title_case(adjectives[random_index(adjectives.size())]) + std::string(nouns[random_index(nouns.size())]);
}

std::string guest_display_name(std::string_view requested) {
  std::string name = trim_space(strip_html(requested));
  if (name.empty()) name = random_guest_name();
  return "(Guest)" + name;
}

std::string guest_request_claims(const guest_request& request) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_field(out, "client_id", request.client_id);
  if (!request.response_type.empty()) {
    write_field(out, "response_type", request.response_type);
  }
  if (!request.scope.empty()) {
    write_field(out, "scope", request.scope);
  }
  write_key(out, "claims");
  out.StartObject();
  write_key(out, "id_token");
  out.StartObject();
  write_key(out, "guest");
  out.StartObject();
  write_key(out, "essential");
  out.Bool(true);
  write_field(out, "value", request.guest_id);
  out.EndObject();
  write_key(out, "name");
  out.StartObject();
  write_field(out, "value", request.display_name);
  out.EndObject();
  out.EndObject();
  write_key(out, "passthru");
  out.StartObject();
  write_key(out, "kopano/kwm/guest");
  out.StartObject();
  write_field(out, "type", "1");
  write_field(out, "path", request.path);
  out.EndObject();
  out.EndObject();
  out.EndObject();
  out.EndObject();
  return take_string(buffer);
}

std::string render_guest_logon(std::string_view request_object, std::string_view guest_id, std::string_view name) {
  rapidjson::StringBuffer buffer;
  json_writer out(buffer);
  out.StartObject();
  write_key(out, "ok");
  out.Bool(true);
  write_key(out, "eqp");
  out.StartObject();
  write_field(out, "request", request_object);
  out.EndObject();
  write_field(out, "id", guest_id);
  write_field(out, "name", name);
  out.EndObject();
  return take_string(buffer) + "\n";
}

}  // namespace kwm::protocol
