#pragma once
// Settings of the main listener (spec §1.12, §4.1, §4.2). Defaults are the spec's.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/address_filter.hpp"

namespace kwm::net {

class tls_context;  // net/tls_context.hpp

struct http_limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_header_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 0;  // 0 = soft RLIMIT_NOFILE minus a reserve of 64
  // Descriptors another listener of the process may hold (the metrics listener's cap): the
  // automatic max_connections leaves them out too, so that both together keep the reserve.
  std::size_t descriptors_for_others = 0;
  // Connections per client address (IPv6: per /64); 0 = no cap (D20).
  std::size_t max_connections_per_address = 0;
};

struct websocket_limits {
  std::size_t max_message_bytes = 1024 * 1024;
  std::size_t send_queue_messages = 256;
  std::size_t send_queue_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds ping_period{54'000};
  std::chrono::milliseconds pong_wait{60'000};
  std::chrono::milliseconds write_wait{10'000};
  std::chrono::milliseconds close_wait{1'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  // D20: a message must be complete this long after its first byte (0 = no limit) ...
  std::chrono::milliseconds message_timeout{30'000};
  // ... and all unfinished messages of the listener together hold at most this much;
  // beyond it the largest holders are closed (0 = no limit).
  std::size_t max_unfinished_bytes = 256 * 1024 * 1024;
  // Input flow control: a socket is not read while this many frames or bytes it delivered
  // are not yet processed (0 = no limit).
  std::size_t max_inflight_frames = 64;
  std::size_t max_inflight_bytes = 1024 * 1024;
  // Frames that do not end a message (pings, pongs, fragments) a connection may send per
  // second, also their burst; reading pauses while they are spent (0 = no limit).
  std::size_t frames_per_second = 100;
};

struct server_config {
  std::string host = "127.0.0.1";
  uint16_t port = 8778;  // 0 = an ephemeral port (tests)
  http_limits http;
  websocket_limits websocket;
  address_filter trusted_networks = address_filter::loopback_only();
  // Peers whose X-Forwarded-For names the client for the per-address cap (D20); none by default.
  address_filter trusted_proxies;
  // SO_SNDBUF of accepted sockets; 0 keeps the kernel's autotuning. Small values make the
  // outgoing queue (and so slow-consumer detection) the only buffer that matters.
  int socket_send_buffer_bytes = 0;
  // Set: the listener serves HTTPS and WSS only (D24), with the context's current pair.
  std::shared_ptr<tls_context> tls;
};

// Resolves max_connections = 0 to the soft descriptor limit minus the reserve and minus
// descriptors_for_others.
std::size_t effective_max_connections(const http_limits& limits);

}  // namespace kwm::net
