#pragma once
// Identifiers from a cryptographic random source, encoded as the original's
// rndm.GenerateRandomString does: URL-safe base64 with padding of n random bytes.
#include <cstddef>
#include <string>

namespace kwm::protocol {

// Throws std::runtime_error when the system's random source fails.
std::string random_bytes(std::size_t count);
std::string random_string(std::size_t byte_count);

// Sizes of the protocol's random identifiers, in bytes before encoding (spec §0.3).
inline constexpr std::size_t connect_key_bytes = 24;      // 32 characters
inline constexpr std::size_t call_channel_id_bytes = 24;  // '*' + 32 characters
inline constexpr std::size_t message_id_bytes = 12;       // 16 characters
inline constexpr std::size_t token_subject_bytes = 32;    // 44 characters
inline constexpr std::size_t hmac_key_bytes = 32;

}  // namespace kwm::protocol
