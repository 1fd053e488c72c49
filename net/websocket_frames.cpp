#include "net/websocket_frames.hpp"

namespace kwm::net::ws {

uint16_t close_code_of(read_error error) {
  switch (error) {
    case read_error::invalid_utf8:
      return 1007;
    case read_error::too_big:
      return 1009;
    default:
      return 1002;
  }
}

bool is_valid_close_code(uint16_t code) {
  // 1004-1006 and 1015 are reserved and never sent; 1016-2999 are reserved for future
  // protocol use; 3000-4999 belong to libraries and applications.
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

std::size_t encode_header(opcode op, std::size_t payload_size, unsigned char out[10]) {
  out[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(op));
  if (payload_size < 126) {
    out[1] = static_cast<unsigned char>(payload_size);
    return 2;
  }
  if (payload_size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<unsigned char>(payload_size >> 8);
    out[3] = static_cast<unsigned char>(payload_size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<unsigned char>(static_cast<uint64_t>(payload_size) >> (56 - 8 * i));
  return 10;
}

void unmask(char* data, std::size_t size, const unsigned char key[4], std::size_t offset) {
  std::size_t i = 0;
  // Byte by byte up to the key's start, then eight bytes per step with the key doubled.
  for (; i < size && ((offset + i) & 3) != 0; ++i) data[i] = static_cast<char>(data[i] ^ key[(offset + i) & 3]);
  if (size - i >= 8) {
    uint32_t half;
    std::memcpy(&half, key, 4);
    const uint64_t wide = static_cast<uint64_t>(half) << 32 | half;
    for (; i + 8 <= size; i += 8) {
      uint64_t word;
      std::memcpy(&word, data + i, 8);
      word ^= wide;
      std::memcpy(data + i, &word, 8);
    }
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[(offset + i) & 3]);
}

bool frame_reader::decode_header(const unsigned char* h, std::size_t& header_size, bool& need_more,
                                 std::size_t available) {
  if (available < 2) {
    need_more = true;
    return true;
  }
  const bool fin = (h[0] & 0x80) != 0;
  const unsigned rsv = h[0] & 0x70;
  const unsigned op = h[0] & 0x0F;
  const bool masked = (h[1] & 0x80) != 0;
  const unsigned short_length = h[1] & 0x7F;
  header_size = 2 + (short_length == 126 ? 2 : short_length == 127 ? 8 : 0) + 4;
  // Everything the first two bytes decide is checked before waiting for the rest.
  const bool control = (op & 0x8) != 0;
  const bool known = op <= 2 || (op >= 8 && op <= 10);
  if (rsv != 0 || !known || !masked || (control && (!fin || short_length > 125)) ||
      (op == 0 && !in_message_) || (op != 0 && !control && in_message_)) {
    error_ = read_error::protocol;
    return false;
  }
  if (available < header_size) {
    need_more = true;
    return true;
  }
  uint64_t length = short_length;
  const unsigned char* p = h + 2;
  if (short_length == 126) {
    length = static_cast<uint64_t>(p[0]) << 8 | p[1];
    p += 2;
  } else if (short_length == 127) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = length << 8 | p[i];
    p += 8;
    if (length >> 63) {
      error_ = read_error::protocol;
      return false;
    }
  }
  if (!control) {
    const uint64_t before = op == 0 ? message_bytes_ : 0;
    if (length > max_message_bytes_ || before + length > max_message_bytes_) {
      error_ = read_error::too_big;
      return false;
    }
  }
  std::memcpy(mask_, p, 4);
  mask_offset_ = 0;
  frame_remaining_ = length;
  frame_op_ = static_cast<uint8_t>(op);
  frame_fin_ = fin;
  return true;
}

}  // namespace kwm::net::ws
