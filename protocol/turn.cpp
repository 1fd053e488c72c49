#include "protocol/turn.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "protocol/base64.hpp"

namespace kwm::protocol {

turn_credentials shared_secret_credentials(std::string_view secret, std::string_view user,
                                           const std::vector<std::string>& uris, int64_t now, int64_t ttl) {
  turn_credentials credentials;
  credentials.username = std::to_string(now + ttl) + ":" + std::string(user);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(credentials.username.data()), credentials.username.size(),
           digest, &length) == nullptr)
    throw std::runtime_error("HMAC-SHA1 failed");
  credentials.password =
      base64_encode(std::string_view(reinterpret_cast<const char*>(digest), length), base64_alphabet::standard);
  credentials.ttl = ttl;
  credentials.uris = uris;
  return credentials;
}

std::string turn_service_user_header(std::string_view user) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(user.data()), user.size(), digest);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest),
                       base64_alphabet::url_safe);
}

}  // namespace kwm::protocol
