#include "bench/frame_fields.hpp"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>

namespace kwm::bench {
namespace {

// Where a value sits, as far as the bench cares; everything else is `none`.
enum class field : uint8_t {
  none,
  type,
  subtype,
  reply_to,
  t,
  channel,
  hash,
  data,
  data_t,
  data_text,
  data_accept,
  data_group,
  group_members,
};

enum class type_value : uint8_t { other, hello, pong, webrtc, chats, error, goodbye };
enum class subtype_value : uint8_t {
  other,
  call,
  channel,
  signal,
  hangup,
  chats_message,
  chats_system
};

// A whole unsigned integer, else 0 (negative, fractional, exponent or too large).
uint64_t to_number(const char* text, std::size_t size) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text, text + size, value);
  return error == std::errc{} && end == text + size ? value : 0;
}

field key_field(field container, int depth, std::string_view key) {
  if (depth == 1) {
    if (key == "type") return field::type;
    if (key == "subtype") return field::subtype;
    if (key == "reply_to") return field::reply_to;
    if (key == "t") return field::t;
    if (key == "channel") return field::channel;
    if (key == "hash") return field::hash;
    if (key == "data") return field::data;
  } else if (container == field::data) {
    if (key == "t") return field::data_t;
    if (key == "text") return field::data_text;
    if (key == "accept") return field::data_accept;
    if (key == "group") return field::data_group;
  } else if (container == field::data_group && key == "members") {
    return field::group_members;
  }
  return field::none;
}

type_value type_of(std::string_view v) {
  if (v == "pong") return type_value::pong;
  if (v == "webrtc") return type_value::webrtc;
  if (v == "chats") return type_value::chats;
  if (v == "hello") return type_value::hello;
  if (v == "error") return type_value::error;
  if (v == "goodbye") return type_value::goodbye;
  return type_value::other;
}

subtype_value subtype_of(std::string_view v) {
  if (v == "webrtc_signal") return subtype_value::signal;
  if (v == "chats_message") return subtype_value::chats_message;
  if (v == "chats_system") return subtype_value::chats_system;
  if (v == "webrtc_call") return subtype_value::call;
  if (v == "webrtc_channel") return subtype_value::channel;
  if (v == "webrtc_hangup") return subtype_value::hangup;
  return subtype_value::other;
}

frame_kind kind_of(type_value type, subtype_value subtype) {
  switch (type) {
    case type_value::hello:
      return frame_kind::hello;
    case type_value::pong:
      return frame_kind::pong;
    case type_value::error:
      return frame_kind::error;
    case type_value::goodbye:
      return frame_kind::goodbye;
    case type_value::webrtc:
      switch (subtype) {
        case subtype_value::call:
          return frame_kind::webrtc_call;
        case subtype_value::channel:
          return frame_kind::webrtc_channel;
        case subtype_value::signal:
          return frame_kind::webrtc_signal;
        case subtype_value::hangup:
          return frame_kind::webrtc_hangup;
        default:
          return frame_kind::other;
      }
    case type_value::chats:
      if (subtype == subtype_value::chats_message) return frame_kind::chats_message;
      if (subtype == subtype_value::chats_system) return frame_kind::chats_system;
      return frame_kind::other;
    default:
      return frame_kind::other;
  }
}

// SAX events in, frame_fields out. Containers deeper than `tracked_depth` are walked by the
// reader but not remembered: no field the bench reads lives that deep.
class fields_handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, fields_handler> {
 public:
  explicit fields_handler(frame_fields& out) : out_(out) {}

  bool root_was_object() const { return root_object_; }
  type_value type() const { return type_; }
  subtype_value subtype() const { return subtype_; }

  bool StartObject() { return open(false); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(true); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  bool Key(const char* text, rapidjson::SizeType size, bool) {
    if (depth_ <= tracked_depth) {
      auto& level = levels_[depth_ - 1];
      level.key = key_field(level.name, depth_, std::string_view(text, size));
    }
    return true;
  }

  bool String(const char* text, rapidjson::SizeType size, bool) {
    const std::string_view value(text, size);
    switch (value_field()) {
      case field::type:
        type_ = type_of(value);
        break;
      case field::subtype:
        subtype_ = subtype_of(value);
        break;
      case field::channel:
        out_.channel.assign(value);
        break;
      case field::hash:
        out_.hash.assign(value);
        break;
      case field::data_text:
        out_.stamp = parse_chat_stamp(value);
        break;
      default:
        break;
    }
    return element();
  }

  bool RawNumber(const char* text, rapidjson::SizeType size, bool) {
    switch (value_field()) {
      case field::reply_to:
        out_.has_reply_to = true;
        out_.reply_to = to_number(text, size);
        break;
      case field::t:
        out_.t = to_number(text, size);
        break;
      case field::data_t:
        out_.data_t = to_number(text, size);
        break;
      default:
        break;
    }
    return element();
  }

  bool Bool(bool value) {
    if (value_field() == field::data_accept) out_.accept = value;
    return element();
  }

  bool Default() { return element(); }  // null; numbers arrive as RawNumber

 private:
  static constexpr int tracked_depth = 8;
  struct level {
    field name = field::none;  // what this container is
    field key = field::none;   // the member being read (objects)
    bool array = false;
  };

  // The field the next value belongs to.
  field value_field() const {
    if (depth_ == 0 || depth_ > tracked_depth) return field::none;
    const auto& level = levels_[depth_ - 1];
    return level.array ? field::none : level.key;
  }

  bool element() {
    if (depth_ > 0 && depth_ <= tracked_depth && levels_[depth_ - 1].array &&
        levels_[depth_ - 1].name == field::group_members)
      ++out_.group_members;
    return true;
  }

  bool open(bool array) {
    if (depth_ == 0) root_object_ = !array;
    element();
    const field name = value_field();
    if (++depth_ <= tracked_depth) levels_[depth_ - 1] = level{name, field::none, array};
    return true;
  }

  bool close() {
    --depth_;
    return true;
  }

  frame_fields& out_;
  level levels_[tracked_depth];
  int depth_ = 0;
  bool root_object_ = false;
  type_value type_ = type_value::other;
  subtype_value subtype_ = subtype_value::other;
};

// Reads "<letter>=<digits>" at `at`; advances past it and one separating space.
bool stamp_part(std::string_view text, std::size_t& at, char letter, uint64_t& value) {
  if (at + 2 > text.size() || text[at] != letter || text[at + 1] != '=') return false;
  const auto begin = text.data() + at + 2;
  const auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
  if (error != std::errc{}) return false;
  at = static_cast<std::size_t>(end - text.data());
  if (at < text.size() && text[at] == ' ') ++at;
  return true;
}

}  // namespace

void append_decimal(std::string& out, uint64_t value) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

void append_chat_stamp(std::string& out, uint32_t sender, uint64_t sequence, uint64_t sent_ns) {
  out += "s=";
  append_decimal(out, sender);
  out += " n=";
  append_decimal(out, sequence);
  out += " t=";
  append_decimal(out, sent_ns);
}

chat_stamp parse_chat_stamp(std::string_view text) {
  chat_stamp stamp;
  std::size_t at = 0;
  uint64_t sender = 0;
  if (!stamp_part(text, at, 's', sender) || !stamp_part(text, at, 'n', stamp.sequence) ||
      !stamp_part(text, at, 't', stamp.sent_ns) || at != text.size() || sender > UINT32_MAX)
    return {};
  stamp.sender = static_cast<uint32_t>(sender);
  stamp.present = true;
  return stamp;
}

struct frame_scanner::reader_state {
  rapidjson::Reader reader;  // reused: keeps its parse stack between frames
};

frame_scanner::frame_scanner() : state_(std::make_unique<reader_state>()) {}
frame_scanner::~frame_scanner() = default;

bool frame_scanner::scan(std::string_view text, frame_fields& out) {
  out.valid = false;
  out.kind = frame_kind::other;
  out.has_reply_to = false;
  out.reply_to = out.t = out.data_t = 0;
  out.accept = false;
  out.group_members = 0;
  out.stamp = {};
  out.channel.clear();
  out.hash.clear();
  fields_handler handler(out);
  rapidjson::MemoryStream stream(text.data(), text.size());
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
  const auto result = state_->reader.Parse<flags>(stream, handler);
  out.valid = !result.IsError() && handler.root_was_object();
  if (out.valid) out.kind = kind_of(handler.type(), handler.subtype());
  return out.valid;
}

}  // namespace kwm::bench
