#include "protocol/channel_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "protocol/base64.hpp"
#include "protocol/random.hpp"

namespace kwm::protocol {

channel_hasher::channel_hasher(std::string key) : key_(std::move(key)) {}

channel_hasher channel_hasher::with_random_key() { return channel_hasher(random_bytes(hmac_key_bytes)); }

std::string channel_hasher::digest(std::string_view a, std::string_view b,
                                   std::string_view channel) const {
  if (b < a) std::swap(a, b);  // byte-wise order: std::string_view compares as unsigned chars
  std::string input;
  input.reserve(6 + a.size() + b.size() + channel.size());
  input.append("webrtc").append(a).append(b).append(channel);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &length) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string channel_hasher::hash(std::string_view a, std::string_view b, std::string_view channel) const {
  return base64_encode(digest(a, b, channel), base64_alphabet::standard);
}

bool channel_hasher::matches(std::string_view decoded_hash, std::string_view a, std::string_view b,
                             std::string_view channel) const {
  const std::string expected = digest(a, b, channel);
  return decoded_hash.size() == expected.size() &&
         CRYPTO_memcmp(decoded_hash.data(), expected.data(), expected.size()) == 0;
}

}  // namespace kwm::protocol
