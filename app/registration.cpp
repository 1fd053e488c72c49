#include "app/registration.hpp"

#include <yaml-cpp/yaml.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace kwm::app {
namespace {

// A YAML node as JSON text (JWKs come as YAML mappings of strings).
void write_json(rapidjson::Writer<rapidjson::StringBuffer>& out, const YAML::Node& node) {
  if (node.IsMap()) {
    out.StartObject();
    for (const auto& entry : node) {
      const auto key = entry.first.as<std::string>();
      out.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
      write_json(out, entry.second);
    }
    out.EndObject();
  } else if (node.IsSequence()) {
    out.StartArray();
    for (const auto& item : node) write_json(out, item);
    out.EndArray();
  } else if (node.IsScalar()) {
    const auto text = node.as<std::string>();
    out.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  } else {
    out.Null();
  }
}

std::string as_json(const YAML::Node& node) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  write_json(out, node);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::variant<std::vector<protocol::guest_client>, std::string> load_registration(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return "failed to load registration file " + path + ": " + e.what();
  }
  std::vector<protocol::guest_client> clients;
  const auto list = root["clients"];
  if (list && !list.IsSequence()) return "registration file " + path + ": clients must be a list";
  for (const auto& entry : list) {
    protocol::guest_client client;
    client.id = entry["id"] ? entry["id"].as<std::string>() : "";
    const auto type = entry["application_type"] ? entry["application_type"].as<std::string>() : "";
    if (!type.empty() && type != "web")
      return "registration file " + path + ": unknown application_type " + type + " of client " + client.id;
    if (entry["request_object_signing_alg"]) client.signing_algorithm = entry["request_object_signing_alg"].as<std::string>();
    std::vector<protocol::json_web_key> keys;
    if (const auto jwks = entry["jwks"]; jwks && jwks["keys"])
      for (const auto& key : jwks["keys"])
        if (auto parsed = protocol::json_web_key::parse(as_json(key))) keys.push_back(std::move(*parsed));
    client.signing_key = protocol::choose_signing_key(keys);
    clients.push_back(std::move(client));
  }
  return clients;
}

}  // namespace kwm::app
