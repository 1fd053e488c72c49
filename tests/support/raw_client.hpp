#pragma once
// Test clients on plain POSIX sockets with receive timeouts, so that a broken server
// fails a test instead of hanging it. The WebSocket client speaks raw RFC 6455 frames
// (masked, as a browser does) and never answers pings on its own unless told to.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kwm::test {

using namespace std::chrono_literals;

// A loopback port that was free a moment ago (SOCK_STREAM or SOCK_DGRAM), for services
// that tests start themselves.
uint16_t free_loopback_port(int socket_type);

// What the bytes of a socket go through besides TCP (TLS: support/tls_client.hpp). The calls
// behave like send(2) and recv(2) on the descriptor, including errno EAGAIN on a timeout.
class stream_layer {
 public:
  virtual ~stream_layer() = default;
  virtual long send(int fd, const char* data, size_t size) = 0;
  virtual long receive(int fd, char* data, size_t size) = 0;
};

class tcp_socket {
 public:
  tcp_socket() = default;
  // `receive_buffer` > 0 fixes SO_RCVBUF before connecting (and so disables the kernel's
  // receive-window autotuning, which on loopback can absorb tens of megabytes).
  explicit tcp_socket(uint16_t port, std::chrono::milliseconds timeout = 5s, int receive_buffer = 0);
  // Connects from another loopback address (e.g. "127.0.0.2"), as a second client host.
  static tcp_socket connect_from(const std::string& source_address, uint16_t port,
                                 std::chrono::milliseconds timeout = 5s);
  tcp_socket(tcp_socket&& other) noexcept;
  tcp_socket& operator=(tcp_socket&& other) noexcept;
  ~tcp_socket();

  void send_all(std::string_view bytes);
  // Appends what arrives to `buffer`; false on EOF, error or timeout (then timed_out()).
  bool receive_some(std::string& buffer);
  bool timed_out() const { return timed_out_; }
  // The receive timeout only: a short one for polling must not cut a send of a large frame
  // into pieces (the next frame would then start mid-frame).
  void set_timeout(std::chrono::milliseconds timeout);
  void set_send_timeout(std::chrono::milliseconds timeout);
  void shutdown_write();
  // Closes with an RST instead of a FIN.
  void reset();
  bool is_open() const { return fd_ >= 0; }
  // True when the peer has closed the connection (EOF or reset) within `timeout`.
  bool wait_for_close(std::chrono::milliseconds timeout);

  int descriptor() const { return fd_; }
  // From now on every byte goes through `layer` (e.g. after a TLS handshake on the descriptor).
  void set_layer(std::unique_ptr<stream_layer> layer) { layer_ = std::move(layer); }
  stream_layer* layer() const { return layer_.get(); }

 private:
  int fd_ = -1;
  bool timed_out_ = false;
  std::unique_ptr<stream_layer> layer_;
};

struct http_reply {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;

  // First value of a header, matched case-insensitively; nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
  std::vector<std::string> header_values(std::string_view name) const;
};

// Reads one HTTP/1.1 response (Content-Length bodies) from `socket`, keeping any bytes
// that follow it in `buffer`. nullopt when the connection ends first.
std::optional<http_reply> read_http_reply(tcp_socket& socket, std::string& buffer);

// One request on `socket` (Connection: close); throws when no response comes.
http_reply http_call_on(tcp_socket& socket, const std::string& method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers = {},
                        const std::string& body = {});

// One request on a fresh connection.
http_reply http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     const std::string& body = {});

// A POST whose head the server has read (it answered 100 Continue) and whose body has not
// been sent: a request in progress, which holds a graceful shutdown's drain open until
// finish() sends the body and reads the answer.
class held_request {
 public:
  held_request(uint16_t port, const std::string& target);
  http_reply finish();

 private:
  tcp_socket socket_;
  std::string buffer_;
};

std::string build_http_request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body, bool keep_alive);

enum class opcode : uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

struct ws_frame {
  opcode op = opcode::text;
  bool fin = true;
  std::string payload;
};

// Encodes one client frame (masked unless `masked` is false).
std::string encode_frame(opcode op, std::string_view payload, bool fin = true, bool masked = true,
                         uint8_t reserved_bits = 0);

class ws_client {
 public:
  // Performs the opening handshake on `path`; `handshake` holds the server's answer.
  // `is_open()` is false when the answer was not 101. `early_bytes` (frames) go out in the
  // same send as the upgrade request, before its answer.
  ws_client(uint16_t port, const std::string& path,
            const std::vector<std::pair<std::string, std::string>>& extra_headers = {},
            int receive_buffer = 0, std::string_view early_bytes = {});
  // The same on a socket that is already connected (over TLS, for one).
  ws_client(tcp_socket connected, const std::string& path,
            const std::vector<std::pair<std::string, std::string>>& extra_headers = {},
            std::string_view early_bytes = {});

  bool is_open() const { return handshake.status == 101; }

  void send_text(std::string_view text) { send_frame(opcode::text, text); }
  void send_frame(opcode op, std::string_view payload, bool fin = true);
  void send_raw(std::string_view bytes) { socket.send_all(bytes); }
  void send_close(uint16_t code);

  // The next frame of any kind; nullopt on timeout or when the connection ended.
  std::optional<ws_frame> next_frame(std::chrono::milliseconds timeout = 5s);
  // The next text frame, answering pings (and the close frame) when `auto_pong` is set
  // and skipping other control frames. A close frame ends it with nullopt and sets close_code/close_reason.
  std::optional<std::string> next_text(std::chrono::milliseconds timeout = 5s);
  // Reads until the server's close frame (returns its code) or the end of the stream.
  std::optional<uint16_t> wait_close(std::chrono::milliseconds timeout = 5s);

  http_reply handshake;
  tcp_socket socket;
  bool auto_pong = true;
  bool closed = false;  // the connection ended (a receive timeout does not count)
  std::optional<uint16_t> close_code;
  std::string close_reason;
  std::vector<std::string> pings;  // payloads of the pings received

 private:
  std::optional<ws_frame> parse_buffered();
  std::string buffer_;
};

}  // namespace kwm::test
