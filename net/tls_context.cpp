#include "net/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>

#include <fstream>
#include <iterator>

namespace kwm::net {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" configuration (server-side TLS guidelines, version 5.7): TLS 1.2
// with these AEAD suites, TLS 1.3 with its three suites, these groups, DHE with the RFC 7919
// group that matches the key, and the client's cipher preference.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* tls13_suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* key_exchange_groups = "X25519:prime256v1:secp384r1";

// OpenSSL would prompt on the terminal for the passphrase of an encrypted key, which blocks
// a daemon: such keys are refused instead.
int refuse_passphrase(char*, int, int, void*) {
  return 0;
}

// ALPN: HTTP/1.1 is all this listener speaks. A client that offers only other protocols gets
// the fatal no_application_protocol alert RFC 7301 §3.2 asks for; one that offers none is
// served without ALPN.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* offered, unsigned int offered_length, void*) {
  static const unsigned char ours[] = "\x08http/1.1";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, ours, sizeof ours - 1, offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

bool names_encrypted_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.find("ENCRYPTED") != std::string::npos;
}

std::string printed(X509_NAME* name) {
  BIO* out = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(out, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<std::size_t>(size > 0 ? size : 0));
  BIO_free(out);
  return text;
}

std::string printed(const ASN1_TIME* time) {
  BIO* out = BIO_new(BIO_s_mem());
  ASN1_TIME_print(out, time);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<std::size_t>(size > 0 ? size : 0));
  BIO_free(out);
  return text;
}

tls_certificate_info describe(X509* leaf) {
  tls_certificate_info info;
  info.subject = printed(X509_get_subject_name(leaf));
  info.not_after = printed(X509_get0_notAfter(leaf));
  info.expired = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0;
  info.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0;
  return info;
}

// A server context with the listener's settings and the pair from `files`; nullptr and
// `error` when the files cannot be used.
std::shared_ptr<ssl::context> make_server_context(const tls_files& files,
                                                  tls_certificate_info& info, std::string& error) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_clear_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_max_early_data(native, 0);  // TLS 1.3 0-RTT data could be replayed by anyone
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(native, tls13_suites) != 1 ||
      SSL_CTX_set1_groups_list(native, key_exchange_groups) != 1 ||
      SSL_CTX_set_dh_auto(native, 1) != 1) {
    error = "cannot apply the TLS settings: " + take_openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(native, select_http11, nullptr);
  SSL_CTX_set_default_passwd_cb(native, refuse_passphrase);

  if (SSL_CTX_use_certificate_chain_file(native, files.certificate_chain.c_str()) != 1) {
    error = "cannot read the certificate chain " + files.certificate_chain + ": " +
            take_openssl_errors();
    return nullptr;
  }
  const auto mismatch = [&] {
    return "the private key " + files.private_key + " does not belong to the certificate in " +
           files.certificate_chain + ": " + take_openssl_errors();
  };
  if (SSL_CTX_use_PrivateKey_file(native, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH) {
      error = mismatch();
      return nullptr;
    }
    error = "cannot read the private key " + files.private_key + ": " + take_openssl_errors();
    if (names_encrypted_key(files.private_key)) error += " (encrypted keys are not supported)";
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = mismatch();
    return nullptr;
  }
  info = describe(SSL_CTX_get0_certificate(native));
  return context;
}

}  // namespace

std::string take_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    if (!text.empty()) text += "; ";
    text += reason;
  }
  return text.empty() ? "unknown error" : text;
}

std::shared_ptr<tls_context> tls_context::open(tls_files files, std::string& error) {
  auto result = std::make_shared<tls_context>(std::move(files));
  if (auto problem = result->reload()) {
    error = std::move(*problem);
    return nullptr;
  }
  return result;
}

std::shared_ptr<ssl::context> tls_context::current() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return current_;
}

tls_certificate_info tls_context::certificate() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return certificate_;
}

std::optional<std::string> tls_context::reload() {
  tls_certificate_info info;
  std::string error;
  auto fresh = make_server_context(files_, info, error);
  if (!fresh) return error;
  std::lock_guard<std::mutex> guard(mutex_);
  current_ = std::move(fresh);
  certificate_ = std::move(info);
  return std::nullopt;
}

}  // namespace kwm::net
