#pragma once
// The channel hash (spec §3.8): HMAC-SHA256 with a per-process key over
// "webrtc" ‖ min(a,b) ‖ max(a,b) ‖ channel id, standard base64 with padding.
#include <optional>
#include <string>
#include <string_view>

namespace kwm::protocol {

class channel_hasher {
 public:
  // `key` is the raw HMAC key (32 random bytes for the life of the process).
  explicit channel_hasher(std::string key);
  static channel_hasher with_random_key();

  std::string hash(std::string_view a, std::string_view b, std::string_view channel) const;

  // Whether `decoded_hash` (raw bytes) is the hash of (a, b, channel); constant time.
  bool matches(std::string_view decoded_hash, std::string_view a, std::string_view b,
               std::string_view channel) const;

 private:
  std::string digest_of(std::string_view a, std::string_view b, std::string_view channel) const;
  std::string key_;
};

}  // namespace kwm::protocol
