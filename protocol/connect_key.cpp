#include "protocol/connect_key.hpp"

#include <algorithm>

#include "protocol/random.hpp"

namespace kwm::protocol {

std::string generate_connect_key() { return random_string(connect_key_bytes); }

bool is_well_formed_connect_key(std::string_view text) {
  return text.size() == connect_key_length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

}  // namespace kwm::protocol
