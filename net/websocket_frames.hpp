#pragma once
// The WebSocket wire format of RFC 6455 as a server sees it: an incremental reader of client
// frames (masked, possibly fragmented, control frames in between) and the encoder of the
// server's unmasked frame headers. Pure code, no sockets: the session feeds it bytes, and the
// fuzzer and the unit tests feed it anything.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "net/detail/utf8_validator.hpp"

namespace kwm::net::ws {

enum class opcode : uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// Why reading stopped for good; each maps to the close code the server answers with.
enum class read_error : uint8_t {
  none,
  protocol,      // 1002: a frame RFC 6455 forbids
  invalid_utf8,  // 1007: a text message or close reason that is not UTF-8
  too_big,       // 1009: a message over the configured limit
};

uint16_t close_code_of(read_error error);

// Close codes a peer may put into its close frame (RFC 6455 §7.4, IANA registry).
bool is_valid_close_code(uint16_t code);

// Writes the header of an unmasked, final server frame; returns its size (2, 4 or 10).
std::size_t encode_header(opcode op, std::size_t payload_size, unsigned char out[10]);

// XORs `data` with the 4-byte masking key, starting `offset` bytes into the key.
void unmask(char* data, std::size_t size, const unsigned char key[4], std::size_t offset);

// Parses client frames incrementally. `feed` consumes bytes, unmasking them in place, and
// reports complete messages and control frames to an events object with these members:
//   bool on_text(std::string_view payload);   // false: stop feeding after this message
//   bool on_binary(std::size_t size);         // likewise
//   bool on_ping(std::string_view payload);   // false: stop feeding after this frame
//   bool on_pong(std::string_view payload);   // likewise
//   bool on_fragment();                        // a data frame that does not end its message;
//   likewise void on_close(uint16_t code, std::string_view reason);  // code 0: the frame had none
//   void on_error(read_error error);
// A text message that arrives as one frame within one feed is reported without a copy.
// After a close frame or an error the reader takes nothing more.
class frame_reader {
 public:
  explicit frame_reader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  template <class Events>
  std::size_t feed(char* data, std::size_t size, Events& events);

  // Bytes received of what has not been completed yet (fragments, partial frames). The
  // memory behind them is at most about twice that (the buffer grows by doubling).
  std::size_t held_bytes() const { return message_.size() + header_have_ + control_have_; }
  // A message (or a frame header) has begun and is not complete yet.
  bool in_message() const { return in_message_ || header_have_ > 0 || in_frame_; }
  // Messages reported so far: a change tells that the unfinished one is another message.
  uint64_t completed_messages() const { return completed_messages_; }
  bool finished() const { return finished_; }

  // Drops the memory of an unfinished message; the reader takes nothing more.
  void abandon() {
    finished_ = true;
    std::string().swap(message_);
  }

 private:
  static constexpr std::size_t max_header_bytes = 14;

  bool control_frame() const { return (frame_op_ & 0x8) != 0; }

  template <class Events>
  std::size_t fail(Events& events, read_error error, std::size_t consumed) {
    abandon();
    events.on_error(error);
    return consumed;
  }

  // Decodes a complete header; false when it is not acceptable (error_ set).
  bool decode_header(const unsigned char* h, std::size_t& header_size, bool& need_more, std::size_t available);

  // Reports a control frame; false when feeding stops after it (a close, an error, or the
  // events object asking for a pause).
  template <class Events>
  bool finish_control(Events& events, std::string_view payload);

  std::size_t max_message_bytes_;
  std::string message_;  // the text message being assembled, unmasked
  uint64_t message_bytes_ = 0;
  uint64_t frame_remaining_ = 0;
  std::size_t mask_offset_ = 0;
  unsigned char mask_[4] = {};
  unsigned char header_[max_header_bytes] = {};
  char control_[125] = {};
  uint8_t header_have_ = 0;
  uint8_t control_have_ = 0;
  uint8_t frame_op_ = 0;
  uint8_t message_op_ = 0;
  read_error error_ = read_error::none;
  bool frame_fin_ = false;
  bool in_frame_ = false;
  bool in_message_ = false;
  uint64_t completed_messages_ = 0;
  bool finished_ = false;
  detail::utf8_validator utf8_;
};

// -- implementation of the template members ---------------------------------------------

template <class Events>
bool frame_reader::finish_control(Events& events, std::string_view payload) {
  switch (static_cast<opcode>(frame_op_)) {
    case opcode::ping:
      return events.on_ping(payload);
    case opcode::pong:
      return events.on_pong(payload);
    default:
      break;
  }
  // Close: no payload, or a valid code and a UTF-8 reason.
  finished_ = true;
  uint16_t code = 0;
  if (payload.size() == 1) {
    events.on_error(read_error::protocol);
    return false;
  }
  if (payload.size() >= 2) {
    code = static_cast<uint16_t>(static_cast<unsigned char>(payload[0]) << 8 | static_cast<unsigned char>(payload[1]));
    if (!is_valid_close_code(code)) {
      events.on_error(read_error::protocol);
      return false;
    }
    detail::utf8_validator reason;
    const auto* p = reinterpret_cast<const unsigned char*>(payload.data()) + 2;
    if (!reason.feed(p, payload.size() - 2) || !reason.complete()) {
      events.on_error(read_error::invalid_utf8);
      return false;
    }
  }
  std::string().swap(message_);
  events.on_close(code, payload.size() >= 2 ? payload.substr(2) : std::string_view{});
  return false;
}

template <class Events>
std::size_t frame_reader::feed(char* data, std::size_t size, Events& events) {
  std::size_t pos = 0;
  while (!finished_ && pos < size) {
    if (!in_frame_) {
      // The header: straight from `data` when it is all there, else gathered in header_.
      const unsigned char* h;
      std::size_t available;
      if (header_have_ == 0) {
        h = reinterpret_cast<const unsigned char*>(data + pos);
        available = size - pos;
      } else {
        const std::size_t take = std::min<std::size_t>(max_header_bytes - header_have_, size - pos);
        std::memcpy(header_ + header_have_, data + pos, take);
        h = header_;
        available = header_have_ + take;
      }
      std::size_t header_size = 0;
      bool need_more = false;
      if (!decode_header(h, header_size, need_more, available)) return fail(events, error_, pos);
      if (need_more) {
        // Keep the partial header (at most 13 bytes) for the next feed.
        const std::size_t keep = available - header_have_;
        if (header_have_ == 0) std::memcpy(header_, data + pos, keep);
        header_have_ = static_cast<uint8_t>(available);
        return size;
      }
      pos += header_size - header_have_;
      header_have_ = 0;
      in_frame_ = true;
      control_have_ = 0;
      if (!control_frame()) {
        if (frame_op_ != 0) {  // a new message
          in_message_ = true;
          message_op_ = frame_op_;
          message_bytes_ = 0;
          utf8_.reset();
        }
        message_bytes_ += frame_remaining_;
      }
    }
    // The payload (possibly empty), as far as it is here.
    const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(frame_remaining_, size - pos));
    char* payload = data + pos;
    unmask(payload, take, mask_, mask_offset_);
    mask_offset_ = (mask_offset_ + take) & 3;
    frame_remaining_ -= take;
    pos += take;
    const bool frame_done = frame_remaining_ == 0;
    if (control_frame()) {
      if (!frame_done || control_have_ > 0) {
        std::memcpy(control_ + control_have_, payload, take);
        control_have_ = static_cast<uint8_t>(control_have_ + take);
      }
      if (!frame_done) continue;
      in_frame_ = false;
      const std::string_view body = control_have_ > 0 ? std::string_view(control_, control_have_)
                                                      : std::string_view(payload, take);
      control_have_ = 0;
      if (!finish_control(events, body)) return pos;
      continue;
    }
    const bool whole_message_here = frame_fin_ && message_.empty() && frame_done &&
                                    take == message_bytes_;
    if (message_op_ == static_cast<uint8_t>(opcode::text)) {
      if (!utf8_.feed(reinterpret_cast<const unsigned char*>(payload), take))
        return fail(events, read_error::invalid_utf8, pos);
      if (!whole_message_here) message_.append(payload, take);
    }
    if (!frame_done) continue;
    in_frame_ = false;
    if (!frame_fin_) {
      if (!events.on_fragment()) return pos;
      continue;
    }
    in_message_ = false;
    ++completed_messages_;
    bool go_on;
    if (message_op_ == static_cast<uint8_t>(opcode::text)) {
      if (!utf8_.complete()) return fail(events, read_error::invalid_utf8, pos);
      if (whole_message_here) {
        go_on = events.on_text(std::string_view(payload, take));
      } else {
        go_on = events.on_text(message_);
        // A large message's buffer is not kept for the next one.
        if (message_.capacity() > 4096)
          std::string().swap(message_);
        else
          message_.clear();
      }
    } else {
      go_on = events.on_binary(static_cast<std::size_t>(message_bytes_));
    }
    if (!go_on) return pos;
  }
  return pos;
}

}  // namespace kwm::net::ws
