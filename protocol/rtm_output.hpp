#pragma once
// Server → client RTM frames that are not tied to calls or chats (spec §3.4–§3.6).
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/identity.hpp"
#include "protocol/json.hpp"
#include "protocol/rtm_errors.hpp"

namespace kwm::protocol {

std::string render_hello(const self_info& self);
const std::string& goodbye_text();  // {"type":"goodbye","server_status":null}
// `reply_to` 0 is omitted.
std::string render_error(uint64_t reply_to, error_code code, std::string_view message);

void write_self(json_writer& out, const self_info& self);
// `profile` of forwarded calls and chats: {"name": …}, or {} for an empty display name.
void write_profile(json_writer& out, std::string_view display_name);

}  // namespace kwm::protocol
