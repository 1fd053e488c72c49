#pragma once
// The load generator's kwm client: a blocking connect call and WebSocket handshake, then
// a non-blocking socket driven by an epoll loop. Speaks to any kwm-compatible server.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/link.hpp"

namespace kwm::bench {

struct server_target {
  std::string host = "127.0.0.1";
  uint16_t port = 8778;
  bool v1 = false;
  bool tls = false;         // HTTPS and WSS (enable_client_tls() first)
  bool tls_resume = false;  // the WebSocket resumes the TLS session of its connect call
  std::string authorization;         // "" (anonymous), "Basic …" or "Token …"
  std::vector<std::string> sources;  // local source addresses (127.0.0.x) used round-robin
};

// Performs the connect call and the WebSocket upgrade for `user`; returns the connected,
// still blocking connection (hello unread), or a closed one. `source_index` picks the source
// address.
link open_rtm_socket(const server_target& target, const std::string& user, std::size_t source_index);

// POSTs a Token request to the admin API and returns "Token <jwt>" (for --auth token).
std::string admin_token_for(const server_target& target, const std::string& user);

// Client frames are masked (RFC 6455 §5.3); both servers unmask every byte either way.
void append_frame(std::string& out, unsigned char opcode, std::string_view payload);
inline void append_text_frame(std::string& out, std::string_view payload) {
  append_frame(out, 0x1, payload);
}
std::string encode_text_frame(std::string_view payload);

// Incoming frames of one connection, reassembled from non-blocking reads. Complete frames are
// handed out straight from the bytes read; only an unfinished tail is copied.
class frame_reader {
 public:
  // Feeds bytes; calls `on_text(std::string_view)` for each complete text frame and appends
  // a pong for each ping to `pong_out`. Returns false on a close frame. `on_text` must not
  // replace this reader.
  template <class OnText>
  bool feed(const char* data, std::size_t size, OnText&& on_text, std::string& pong_out) {
    bool open = true;
    if (buffer_.empty()) {
      const auto used = consume(data, size, on_text, pong_out, open);
      buffer_.assign(data + used, size - used);
    } else {
      buffer_.append(data, size);
      const auto used = consume(buffer_.data(), buffer_.size(), on_text, pong_out, open);
      buffer_.erase(0, used);
    }
    return open;
  }

 private:
  struct frame_header {
    bool final = true;
    unsigned char opcode = 0;
    std::size_t header_size = 0;
    uint64_t payload_size = 0;
  };
  // False while the header is incomplete.
  static bool read_header(const unsigned char* bytes, std::size_t available, frame_header& out);
  static void answer_ping(std::string_view payload, std::string& pong_out);

  template <class OnText>
  std::size_t consume(const char* data, std::size_t size, OnText& on_text, std::string& pong_out,
                      bool& open) {
    std::size_t offset = 0;
    frame_header frame;
    while (
        read_header(reinterpret_cast<const unsigned char*>(data + offset), size - offset, frame) &&
        size - offset - frame.header_size >= frame.payload_size) {
      const std::string_view payload(data + offset + frame.header_size,
                                     static_cast<std::size_t>(frame.payload_size));
      if (frame.opcode == 0x1 && frame.final && !in_fragments_) {
        on_text(payload);
      } else if (frame.opcode == 0x1 ||
                 frame.opcode == 0x0) {               // a fragmented message (the original
        if (frame.opcode == 0x1) fragments_.clear();  // splits frames above ~1 KiB)
        in_fragments_ = true;
        fragments_.append(payload);
        if (frame.final) {
          in_fragments_ = false;
          on_text(std::string_view(fragments_));
        }
      } else if (frame.opcode == 0x9)
        answer_ping(payload, pong_out);
      else if (frame.opcode == 0x8)
        open = false;
      offset += frame.header_size + static_cast<std::size_t>(frame.payload_size);
    }
    return offset;
  }

  std::string buffer_;
  std::string fragments_;  // text of a fragmented message so far
  bool in_fragments_ = false;
};

}  // namespace kwm::bench
