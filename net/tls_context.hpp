#pragma once
// The main listener's TLS side (D24): the certificate chain and key files, the OpenSSL server
// context made from them with the listener's fixed settings, and its replacement on reload.
// Nothing here names Beast; Asio's ssl::context is only forward-declared.
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace kwm::net {

struct tls_files {
  std::string certificate_chain;  // PEM: the server certificate first, then intermediates
  std::string private_key;        // PEM, unencrypted
};

// OpenSSL's queued reasons for the last failure on this thread, oldest first ("unknown error"
// when there are none); the queue is left empty.
std::string take_openssl_errors();

// What the loaded certificate says, for the log.
struct tls_certificate_info {
  std::string subject;
  std::string not_after;  // e.g. "Nov 26 13:40:02 2027 GMT"
  bool expired = false;
  bool not_yet_valid = false;
};

// The server context every new TLS connection is made from. A reload swaps in a new context
// for the handshakes that follow; a live connection keeps the one it began with (each
// OpenSSL connection holds a reference to its context). Thread-safe.
class tls_context {
 public:
  // Reads and checks the files (chain, key, that they match). nullptr with `error` set when
  // they cannot be used.
  static std::shared_ptr<tls_context> open(tls_files files, std::string& error);

  // The context for the next handshake.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  tls_certificate_info certificate() const;
  const tls_files& files() const { return files_; }

  // Reads the files again. On success new handshakes use the new pair; otherwise the old
  // pair stays and the reason is returned.
  std::optional<std::string> reload();

  explicit tls_context(tls_files files) : files_(std::move(files)) {}

 private:
  tls_files files_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  tls_certificate_info certificate_;
};

}  // namespace kwm::net
