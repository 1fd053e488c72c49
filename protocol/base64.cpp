#include "protocol/base64.hpp"

#include <array>

namespace kwm::protocol {
namespace {

constexpr std::string_view standard_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_safe_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string_view chars_of(base64_alphabet alphabet) {
  return alphabet == base64_alphabet::standard ? standard_chars : url_safe_chars;
}

constexpr int8_t invalid = -1;

std::array<int8_t, 256> make_reverse_table(std::string_view chars) {
  std::array<int8_t, 256> table{};
  table.fill(invalid);
  for (size_t i = 0; i < chars.size(); ++i) table[static_cast<uint8_t>(chars[i])] = int8_t(i);
  return table;
}

const std::array<int8_t, 256>& reverse_table(base64_alphabet alphabet) {
  static const auto standard = make_reverse_table(standard_chars);
  static const auto url_safe = make_reverse_table(url_safe_chars);
  return alphabet == base64_alphabet::standard ? standard : url_safe;
}

}  // namespace

std::string base64_encode(std::string_view bytes, base64_alphabet alphabet,
                          base64_padding padding) {
  const auto chars = chars_of(alphabet);
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 |
                       uint32_t(uint8_t(bytes[i + 2]));
    out += chars[n >> 18 & 63];
    out += chars[n >> 12 & 63];
    out += chars[n >> 6 & 63];
    out += chars[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += chars[n >> 18 & 63];
    out += chars[n >> 12 & 63];
    if (rest == 2) out += chars[n >> 6 & 63];
    if (padding == base64_padding::with_padding) out.append(rest == 1 ? 2 : 1, '=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, base64_alphabet alphabet) {
  size_t padding = 0;
  while (!text.empty() && text.back() == '=' && padding < 2) {
    text.remove_suffix(1);
    ++padding;
  }
  if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;
  const auto& table = reverse_table(alphabet);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int8_t v = table[static_cast<uint8_t>(c)];
    if (v == invalid) return std::nullopt;
    acc = acc << 6 | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char(acc >> bits & 0xff);
    }
  }
  // Leftover bits must be zero, otherwise the text is not a canonical encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace kwm::protocol
