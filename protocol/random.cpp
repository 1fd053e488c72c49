#include "protocol/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "protocol/base64.hpp"

namespace kwm::protocol {

std::string random_bytes(std::size_t count) {
  std::string bytes(count, '\0');
  if (count > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1)
    throw std::runtime_error("random source failed");
  return bytes;
}

std::string random_string(std::size_t byte_count) {
  return base64_encode(random_bytes(byte_count), base64_alphabet::url_safe);
}

}  // namespace kwm::protocol
