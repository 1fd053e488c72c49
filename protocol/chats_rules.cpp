#include "protocol/chats_rules.hpp"

#include "protocol/rtm_errors.hpp"

namespace kwm::protocol {
namespace {

bool is_space(uint32_t c) {
  switch (c) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Decodes the code point starting at `i` (the text is valid UTF-8); returns its length.
size_t decode_at(std::string_view text, size_t i, uint32_t& code) {
  const auto c = static_cast<unsigned char>(text[i]);
  size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
  if (i + length > text.size()) length = 1;
  code = length == 1 ? c : c & (0xFF >> (length + 1));
  for (size_t k = 1; k < length; ++k) code = code << 6 | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  return length;
}

}  // namespace

std::string trim_space(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    uint32_t code;
    const size_t length = decode_at(text, begin, code);
    if (!is_space(code)) break;
    begin += length;
  }
  size_t end = begin;
  for (size_t i = begin; i < text.size();) {
    uint32_t code;
    const size_t length = decode_at(text, i, code);
    i += length;
    if (!is_space(code)) end = i;
  }
  return std::string(text.substr(begin, end - begin));
}

std::optional<std::string_view> check_chat_request(const chats_message& message) {
  if (message.subtype != "chats_message") return error_text::unknown_subtype;
  if (message.channel.empty() || message.data.empty()) return error_text::chat_channel_or_data_empty;
  return std::nullopt;
}

std::optional<std::string_view> check_chat_data(const chats_message& message, chat_data& data) {
  if (!message.message) return error_text::message_data_parse_error;
  data = *message.message;
  if (!data.sender.empty()) return error_text::message_sender_must_be_empty;
  if (!data.target.empty()) return error_text::message_target_must_be_empty;
  if (!data.kind.empty()) return error_text::unknown_message_kind;
  if (data.text.size() > chat_text_limit) return error_text::message_text_too_long;
  if (data.rich_text.size() > chat_rich_text_limit) return error_text::message_rich_text_too_long;
  data.text = trim_space(data.text);
  data.rich_text = trim_space(data.rich_text);
  if (data.text.empty()) return error_text::message_text_is_empty;
  if (data.extra.presence == json_presence::value) return error_text::message_unexpected_extra;
  return std::nullopt;
}

}  // namespace kwm::protocol
