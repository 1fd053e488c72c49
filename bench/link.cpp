#include "bench/link.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <utility>

namespace kwm::bench {
namespace {

SSL_CTX* client_context = nullptr;

// SSL_read/SSL_peek/SSL_write results in recv(2)/send(2) terms.
ssize_t as_socket_result(SSL* ssl, int result) {
  if (result > 0) return result;
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:  // the server ended TCP without close_notify, or reset it
      ERR_clear_error();
      return 0;
  }
}

}  // namespace

void enable_client_tls() {
  if (client_context != nullptr) return;
  ::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes to the socket without MSG_NOSIGNAL
  client_context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_context, SSL_VERIFY_NONE, nullptr);  // the bench trusts its server
  SSL_CTX_set_session_cache_mode(client_context,
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
}

bool client_tls_enabled() {
  return client_context != nullptr;
}

link::link(link&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), ssl_(std::exchange(other.ssl_, nullptr)) {}

link& link::operator=(link&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    ssl_ = std::exchange(other.ssl_, nullptr);
  }
  return *this;
}

bool link::start_tls(ssl_session_st* session) {
  ssl_ = SSL_new(client_context);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_set_alpn_protos(ssl_, alpn, sizeof alpn - 1);
  if (session != nullptr) SSL_set_session(ssl_, session);
  SSL_set_fd(ssl_, fd_);
  if (SSL_connect(ssl_) == 1) return true;
  ERR_clear_error();
  return false;
}

bool link::resumed() const {
  return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

ssl_session_st* link::session() const {
  return ssl_ != nullptr ? SSL_get1_session(ssl_) : nullptr;
}

ssize_t link::read(char* data, std::size_t size) {
  if (ssl_ == nullptr) return ::recv(fd_, data, size, 0);
  return as_socket_result(ssl_, SSL_read(ssl_, data, static_cast<int>(size)));
}

ssize_t link::peek(char* data, std::size_t size) {
  if (ssl_ == nullptr) return ::recv(fd_, data, size, MSG_PEEK);
  return as_socket_result(ssl_, SSL_peek(ssl_, data, static_cast<int>(size)));
}

ssize_t link::write(const char* data, std::size_t size) {
  if (ssl_ == nullptr) return ::send(fd_, data, size, MSG_NOSIGNAL);
  const ssize_t n = as_socket_result(ssl_, SSL_write(ssl_, data, static_cast<int>(size)));
  if (n == 0) {
    errno = EPIPE;
    return -1;
  }
  return n;
}

void link::close() {
  if (ssl_ != nullptr) {
    // Our close_notify, as browsers send it; without it OpenSSL marks the session as not
    // resumable.
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
    ERR_clear_error();
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace kwm::bench
