#pragma once
// Bodies of the admin token API (spec §1.6): the AdminAuthToken object in and out.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/rtm_messages.hpp"

namespace kwm::protocol {

inline constexpr std::size_t admin_body_limit = 5 * 1024;
inline constexpr std::size_t admin_list_limit = 5000;

// AdminAuthToken; keys in this order: sub, type, value, exp, claims.
struct admin_token_object {
  std::string sub;
  std::string type;
  std::string value;
  int64_t exp = 0;
  raw_json claims;  // an object, or absent
};

// The object, or the parser's message for `failed to parse: <message>`.
std::variant<admin_token_object, std::string> parse_admin_token_object(std::string_view body);

std::string render_admin_token(const admin_token_object& token);  // with the trailing "\n"
std::string render_admin_tokens(const std::vector<admin_token_object>& tokens);
// The compact object alone (no "\n"), appended: for a token list written in pieces.
void append_admin_token(std::string& out, const admin_token_object& token);

}  // namespace kwm::protocol
