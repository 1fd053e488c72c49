#pragma once
// The load generator's kwm client: a blocking connect call and WebSocket handshake, then
// a non-blocking socket driven by an epoll loop. Speaks to any kwm-compatible server.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kwm::bench {

struct server_target {
  std::string host = "127.0.0.1";
  uint16_t port = 8778;
  bool v1 = false;
  std::string authorization;         // "" (anonymous), "Basic …" or "Token …"
  std::vector<std::string> sources;  // local source addresses (127.0.0.x) used round-robin
};

// Performs the connect call and the WebSocket upgrade for `user`; returns the connected,
// still blocking socket (hello unread), or -1. `source_index` picks the source address.
int open_rtm_socket(const server_target& target, const std::string& user, std::size_t source_index);

// POSTs a Token request to the admin API and returns "Token <jwt>" (for --auth token).
std::string admin_token_for(const server_target& target, const std::string& user);

std::string encode_text_frame(const std::string& payload);

// Incoming frames of one connection, reassembled from non-blocking reads.
class frame_reader {
 public:
  // Feeds bytes; calls `on_text` for each complete text frame. Returns false on a close
  // frame or a protocol violation.
  bool feed(const char* data, std::size_t size, const std::function<void(std::string_view)>& on_text,
            std::string& pong_out);

 private:
  std::string buffer_;
};

}  // namespace kwm::bench
