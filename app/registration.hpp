#pragma once
// The client registry file (--registration-conf, YAML, spec §1.7): the clients that may
// request guest logons and their signing keys.
#include <string>
#include <variant>
#include <vector>

#include "protocol/guest.hpp"

namespace kwm::app {

// The clients, or an error message for a file that cannot be used.
std::variant<std::vector<protocol::guest_client>, std::string> load_registration(const std::string& path);

}  // namespace kwm::app
