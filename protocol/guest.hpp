#pragma once
// Guest logon (spec §1.7, §5.5): registered clients, guest ids and names, and the signed
// OIDC request object that carries the guest's identity and group to the provider.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/jose.hpp"

namespace kwm::protocol {

// A client of the registration file, reduced to what guest logon needs.
struct guest_client {
  std::string id;
  std::string signing_algorithm;        // request_object_signing_alg
  std::optional<json_web_key> signing_key;  // chosen by the key rules; nullopt when none is usable
};

// The key of a client's JWKS used for request objects: the only key, or among several the
// one with kid "default"; its `use` must be "sig" (or absent).
std::optional<json_web_key> choose_signing_key(const std::vector<json_web_key>& keys);

bool is_signing_algorithm(std::string_view alg);

// "<44 random characters>@1.kwmguest"
std::string new_guest_id();

// "(Guest)" + the name without HTML tags, trimmed; a random "<Adjective> <Adjective><Noun>"
// when that is empty.
std::string guest_display_name(std::string_view requested);
std::string random_guest_name();

struct guest_request {
  std::string client_id;
  std::string response_type;
  std::string scope;
  std::string guest_id;
  std::string display_name;  // with the "(Guest)" prefix
  std::string path;
};

// The request object's claims JSON (keys in the spec's order).
std::string guest_request_claims(const guest_request& request);

// {"ok":true,"eqp":{"request":…},"id":…,"name":…} + "\n"
std::string render_guest_logon(std::string_view request_object, std::string_view guest_id, std::string_view name);

}  // namespace kwm::protocol
