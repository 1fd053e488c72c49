#include "protocol/channel_hash.hpp"

#include "protocol/base64.hpp"
#include "protocol/crypto.hpp"
#include "protocol/random.hpp"

namespace kwm::protocol {

channel_hasher::channel_hasher(std::string key) : key_(std::move(key)) {}

channel_hasher channel_hasher::with_random_key() { return channel_hasher(random_bytes(hmac_key_bytes)); }

std::string channel_hasher::digest_of(std::string_view a, std::string_view b,
                                   std::string_view channel) const {
  if (b < a) std::swap(a, b);  // byte-wise order: std::string_view compares as unsigned chars
  std::string input;
  input.reserve(6 + a.size() + b.size() + channel.size());
  input.append("webrtc").append(a).append(b).append(channel);
  return hmac(digest::sha256, key_, input);
}

std::string channel_hasher::hash(std::string_view a, std::string_view b, std::string_view channel) const {
  return base64_encode(digest_of(a, b, channel), base64_alphabet::standard);
}

bool channel_hasher::matches(std::string_view decoded_hash, std::string_view a, std::string_view b,
                             std::string_view channel) const {
  return constant_time_equal(decoded_hash, digest_of(a, b, channel));
}

}  // namespace kwm::protocol
