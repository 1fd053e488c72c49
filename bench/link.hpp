#pragma once
// One client connection of the load generator: a TCP socket and, with --tls, an OpenSSL
// session over it. Reads and writes behave like recv(2) and send(2) on the socket, blocking or
// not as the socket is, so every scenario works the same over both.
#include <sys/types.h>

#include <cstddef>
#include <string>

struct ssl_st;          // OpenSSL's SSL
struct ssl_session_st;  // OpenSSL's SSL_SESSION

namespace kwm::bench {

class link {
 public:
  link() = default;
  explicit link(int fd) : fd_(fd) {}
  link(link&& other) noexcept;
  link& operator=(link&& other) noexcept;
  link(const link&) = delete;
  link& operator=(const link&) = delete;
  ~link() { close(); }

  // Runs the client handshake (blocking); resumes `session` when given. False on failure.
  bool start_tls(ssl_session_st* session = nullptr);
  // The session to resume on the next connection (caller frees it with SSL_SESSION_free);
  // nullptr without TLS.
  ssl_session_st* session() const;

  bool is_open() const { return fd_ >= 0; }
  bool tls() const { return ssl_ != nullptr; }
  // The handshake resumed an earlier session (--tls-resume).
  bool resumed() const;
  int fd() const { return fd_; }
  // > 0: bytes; 0: the connection ended; -1 with errno EAGAIN: nothing now (or a timeout).
  ssize_t read(char* data, std::size_t size);
  ssize_t peek(char* data, std::size_t size);
  ssize_t write(const char* data, std::size_t size);
  void close();

 private:
  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
};

// Whether links made after this call speak TLS (set once from --tls, before any connection).
void enable_client_tls();
bool client_tls_enabled();

}  // namespace kwm::bench
