#pragma once
// The byte-level encoding of inter-node messages: unsigned LEB128 varints and
// length-prefixed byte strings, so every field is binary-safe and small numbers take one
// byte. The reader never reads past its input: a truncated or overlong field makes it
// fail (sticky), and every read after that returns a zero value.
#include <cstdint>
#include <string>
#include <string_view>

namespace kwm::cluster {

class wire_writer {
 public:
  void byte(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void varint(uint64_t value);
  void bytes(std::string_view value);  // length, then the bytes
  void reserve(std::size_t size) { out_.reserve(size); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class wire_reader {
 public:
  explicit wire_reader(std::string_view input) : input_(input) {}

  uint8_t byte();
  uint64_t varint();
  std::string_view bytes();  // a view into the input
  // A count of elements that each take at least `min_element_bytes`: fails when the input
  // cannot possibly hold that many, so a forged count cannot make us allocate.
  uint64_t count(std::size_t min_element_bytes = 1);

  bool ok() const { return ok_; }
  std::size_t remaining() const { return input_.size() - position_; }

 private:
  bool fail() {
    ok_ = false;
    position_ = input_.size();
    return false;
  }

  std::string_view input_;
  std::size_t position_ = 0;
  bool ok_ = true;
};

}  // namespace kwm::cluster
