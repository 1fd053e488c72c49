#pragma once
// The few OpenSSL primitives the protocol needs, behind one small interface.
#include <string>
#include <string_view>

namespace kwm::protocol {

enum class digest { sha1, sha256 };

// Raw HMAC bytes. Throws std::runtime_error if OpenSSL fails.
std::string hmac(digest algorithm, std::string_view key, std::string_view data);
std::string sha256(std::string_view data);
// Same length and same bytes, in time independent of the content.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace kwm::protocol
