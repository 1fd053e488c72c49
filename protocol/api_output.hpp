#pragma once
// JSON bodies of the HTTP API (spec §1.3, §1.4): one compact value plus "\n".
#include <optional>
#include <string>
#include <string_view>

#include "protocol/identity.hpp"

namespace kwm::protocol {

std::string render_connect_response(std::string_view url, const self_info& self,
                                    const std::optional<turn_credentials>& turn);
std::string render_turn_response(const turn_credentials& turn);

}  // namespace kwm::protocol
