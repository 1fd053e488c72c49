#include "support/tls_client.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <csignal>
#include <memory>
#include <stdexcept>

#include "net/tls_context.hpp"

namespace kwm::test {
namespace {

using net::take_openssl_errors;

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const { Free(p); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using ctx_ptr = std::unique_ptr<SSL_CTX, openssl_deleter<SSL_CTX, SSL_CTX_free>>;
using ssl_ptr = std::unique_ptr<SSL, openssl_deleter<SSL, SSL_free>>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size > 0 ? size : 0));
}

std::string sha256_hex(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(certificate, EVP_sha256(), digest, &size);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

void add_extension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr)
    throw std::runtime_error("certificate extension: " + take_openssl_errors());
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

// The client side of one TLS session; the descriptor stays the tcp_socket's.
class tls_layer final : public stream_layer {
 public:
  explicit tls_layer(ssl_ptr ssl) : ssl_(std::move(ssl)) {}

  long send(int, const char* data, size_t size) override {
    ERR_clear_error();
    const int n = SSL_write(ssl_.get(), data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
    if (n > 0) return n;
    errno = EPIPE;
    return -1;
  }

  long receive(int, char* data, size_t size) override {
    ERR_clear_error();
    const int n = SSL_read(ssl_.get(), data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
    if (n > 0) return n;
    switch (SSL_get_error(ssl_.get(), n)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;  // the socket's receive timeout
        return -1;
      case SSL_ERROR_ZERO_RETURN:  // close_notify
        return 0;
      default:
        // A TCP end without close_notify (OpenSSL 3 reports it as an error) or a reset.
        errno = ECONNRESET;
        return 0;
    }
  }

  SSL* ssl() const { return ssl_.get(); }

 private:
  ssl_ptr ssl_;
};

}  // namespace

test_certificate make_test_certificate(const std::string& common_name, bool rsa) {
  key_ptr key(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("key generation failed: " + take_openssl_errors());
  x509_ptr certificate(X509_new());
  X509_set_version(certificate.get(), 2);
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(certificate.get()), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 24 * 3600);
  X509_set_pubkey(certificate.get(), key.get());
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(certificate.get(), name);
  add_extension(certificate.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  add_extension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE");
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0)
    throw std::runtime_error("certificate signing failed: " + take_openssl_errors());

  test_certificate made;
  bio_ptr certificate_out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(certificate_out.get(), certificate.get());
  made.certificate_pem = bio_text(certificate_out.get());
  bio_ptr key_out(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  made.key_pem = bio_text(key_out.get());
  made.fingerprint = sha256_hex(certificate.get());
  return made;
}

namespace {

ssl_ptr new_client_session(const tls_client_options& options) {
  ERR_clear_error();
  ctx_ptr context(SSL_CTX_new(TLS_client_method()));
  if (!context) throw tls_handshake_error("SSL_CTX_new: " + take_openssl_errors(), 0);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  if (options.allow_legacy) {
    SSL_CTX_set_security_level(context.get(), 0);
    SSL_CTX_set_cipher_list(context.get(), "DEFAULT@SECLEVEL=0");
  }
  if (!options.cipher_list.empty() &&
      SSL_CTX_set_cipher_list(context.get(), options.cipher_list.c_str()) != 1)
    throw tls_handshake_error("cipher list: " + take_openssl_errors(), 0);
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(context.get(), options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(context.get(), options.max_version);
  ssl_ptr ssl(SSL_new(context.get()));
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& protocol : options.alpn) wire += static_cast<char>(protocol.size()) + protocol;
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  return ssl;  // the session holds its own reference to the context
}

SSL* session_of(const tcp_socket& socket) {
  const auto* layer = dynamic_cast<const tls_layer*>(socket.layer());
  if (layer == nullptr) throw std::runtime_error("not a TLS socket");
  return layer->ssl();
}

}  // namespace

std::string encrypted_key(const std::string& key_pem, const std::string& passphrase) {
  bio_ptr in(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  key_ptr key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error("not a PEM key: " + take_openssl_errors());
  bio_ptr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(),
                           reinterpret_cast<const unsigned char*>(passphrase.data()),
                           static_cast<int>(passphrase.size()), nullptr, nullptr);
  return bio_text(out.get());
}

void start_tls(tcp_socket& socket, const tls_client_options& options) {
  ::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes to the socket without MSG_NOSIGNAL
  auto ssl = new_client_session(options);
  SSL_set_fd(ssl.get(), socket.descriptor());
  const int result = SSL_connect(ssl.get());
  if (result != 1) {
    const int error = SSL_get_error(ssl.get(), result);
    const unsigned long code = ERR_peek_last_error();
    const int reason = code == 0 ? 0 : ERR_GET_REASON(code);
    std::string what = "TLS handshake failed (SSL_get_error " + std::to_string(error) + ")";
    what += ": " + take_openssl_errors();
    throw tls_handshake_error(what, reason);
  }
  socket.set_layer(std::make_unique<tls_layer>(std::move(ssl)));
}

tcp_socket tls_connect(uint16_t port, const tls_client_options& options,
                       std::chrono::milliseconds timeout) {
  tcp_socket socket(port, timeout);
  start_tls(socket, options);
  return socket;
}

tls_session_info tls_info(const tcp_socket& socket) {
  SSL* ssl = session_of(socket);
  tls_session_info info;
  info.version = SSL_get_version(ssl);
  info.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  const unsigned char* alpn = nullptr;
  unsigned alpn_size = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_size);
  info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_size);
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    info.peer_fingerprint = sha256_hex(peer);
    X509_free(peer);
  }
  return info;
}

bool close_notify_answered(tcp_socket& socket) {
  SSL* ssl = session_of(socket);
  ERR_clear_error();
  if (SSL_shutdown(ssl) < 0) return false;
  char buffer[4096];
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(ssl, buffer, sizeof buffer);
    if (n > 0) continue;
    const bool answered = SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN;
    ERR_clear_error();
    return answered;
  }
}

bool renegotiate(tcp_socket& socket) {
  SSL* ssl = session_of(socket);
  ERR_clear_error();
  if (SSL_renegotiate(ssl) != 1) return false;
  const bool done = SSL_do_handshake(ssl) == 1;
  ERR_clear_error();
  return done;
}

std::string client_hello(const tls_client_options& options) {
  auto ssl = new_client_session(options);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);  // the session owns both now
  SSL_connect(ssl.get());           // writes the ClientHello, then wants input
  ERR_clear_error();
  return bio_text(out);
}

http_reply https_call(uint16_t port, const std::string& method, const std::string& target,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body) {
  auto socket = tls_connect(port);
  return http_call_on(socket, method, target, headers, body);
}

}  // namespace kwm::test
