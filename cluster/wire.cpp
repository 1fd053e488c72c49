#include "cluster/wire.hpp"

namespace kwm::cluster {

void wire_writer::varint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void wire_writer::bytes(std::string_view value) {
  varint(value.size());
  out_.append(value);
}

uint8_t wire_reader::byte() {
  if (!ok_ || remaining() < 1) return fail(), 0;
  return static_cast<uint8_t>(input_[position_++]);
}

uint64_t wire_reader::varint() {
  uint64_t value = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (!ok_ || remaining() < 1) return fail(), 0;
    const auto part = static_cast<uint8_t>(input_[position_++]);
    // The tenth byte may only hold the top bit of a 64-bit value.
    if (shift == 63 && part > 1) return fail(), 0;
    value |= static_cast<uint64_t>(part & 0x7f) << shift;
    if ((part & 0x80) == 0) return value;
  }
  return fail(), 0;
}

std::string_view wire_reader::bytes() {
  const uint64_t size = varint();
  if (!ok_ || size > remaining()) return fail(), std::string_view();
  const std::string_view value = input_.substr(position_, size);
  position_ += size;
  return value;
}

uint64_t wire_reader::count(std::size_t min_element_bytes) {
  const uint64_t value = varint();
  if (!ok_) return 0;
  if (min_element_bytes > 0 && value > remaining() / min_element_bytes) return fail(), 0;
  return value;
}

}  // namespace kwm::cluster
