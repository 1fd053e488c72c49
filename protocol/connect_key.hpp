#pragma once
// Connect keys (spec §2): 24 random bytes as 32 URL-safe base64 characters.
#include <chrono>
#include <string>
#include <string_view>

namespace kwm::protocol {

inline constexpr std::size_t connect_key_length = 32;
inline constexpr std::chrono::seconds connect_key_lifetime{30};

std::string generate_connect_key();
// Whether `text` has the shape of a key; anything else can be answered 404 without a lookup.
bool is_well_formed_connect_key(std::string_view text);

}  // namespace kwm::protocol
