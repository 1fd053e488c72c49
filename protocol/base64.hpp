#pragma once
// Base64 in the two alphabets the protocol uses: standard (channel hashes, TURN
// passwords) and URL-safe (connect keys, ids, JWT segments).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kwm::protocol {

enum class base64_alphabet { standard, url_safe };
enum class base64_padding { with_padding, without_padding };

std::string base64_encode(std::string_view bytes, base64_alphabet alphabet,
                          base64_padding padding = base64_padding::with_padding);

// Accepts input with or without trailing '=' padding; rejects characters outside the
// alphabet, misplaced padding and impossible lengths.
std::optional<std::string> base64_decode(std::string_view text, base64_alphabet alphabet);

}  // namespace kwm::protocol
