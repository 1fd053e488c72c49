#pragma once
// TLS for the test clients (D24): a self-signed certificate made at run time (no key files in
// the repository), and OpenSSL client sessions on tcp_socket, so that ws_client, http_call_on
// and everything built on them speak HTTPS and WSS.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/raw_client.hpp"

namespace kwm::test {

struct test_certificate {
  std::string certificate_pem;
  std::string key_pem;
  std::string fingerprint;  // SHA-256 of the DER certificate, hex
};

// A fresh key (EC P-256, or RSA 2048 with `rsa`) and a self-signed certificate for
// `common_name` with the subject alternative names 127.0.0.1 and localhost, valid from a minute
// ago for a day.
test_certificate make_test_certificate(const std::string& common_name, bool rsa = false);

// `key_pem` encrypted with `passphrase` (AES-256-CBC), as `openssl pkey -aes256` writes it.
std::string encrypted_key(const std::string& key_pem, const std::string& passphrase);

struct tls_client_options {
  int min_version = 0;  // e.g. TLS1_2_VERSION; 0: OpenSSL's default
  int max_version = 0;
  // Allows what the system's OpenSSL configuration forbids clients (TLS 1.0/1.1, SHA-1), so
  // that the server's own refusal is what a test sees.
  bool allow_legacy = false;
  std::vector<std::string> alpn = {"http/1.1"};  // offered protocols; empty: no ALPN
  std::string cipher_list;                       // TLS 1.2 ciphers; "": the default
};

// What a completed handshake negotiated.
struct tls_session_info {
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string alpn;  // "" when none was selected
  std::string peer_fingerprint;
};

// Thrown when the handshake fails; `reason` is OpenSSL's reason code (ERR_GET_REASON), e.g.
// SSL_R_TLSV1_ALERT_PROTOCOL_VERSION when the server refused the offered version.
struct tls_handshake_error : std::runtime_error {
  tls_handshake_error(const std::string& what, int reason_code)
      : std::runtime_error(what), reason(reason_code) {}
  int reason;
};

// Runs the client handshake on the connected socket (blocking, within the socket's timeouts;
// the server's certificate is not verified, as with --ignore-certificate-errors) and puts the
// session between the socket and its users. Throws tls_handshake_error.
void start_tls(tcp_socket& socket, const tls_client_options& options = {});
// A new connection to the loopback `port` with TLS started.
tcp_socket tls_connect(uint16_t port, const tls_client_options& options = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
// After start_tls.
tls_session_info tls_info(const tcp_socket& socket);

// Sends the client's close_notify and reads until the server ends: true when the server
// answered with its own close_notify, false when it closed TCP without one or timed out.
bool close_notify_answered(tcp_socket& socket);

// Asks for a renegotiation on an established TLS 1.2 session; true when the server went along.
bool renegotiate(tcp_socket& socket);

// The bytes of a client's first flight (a TLS record holding a ClientHello), for attacks that
// start a handshake and never finish it.
std::string client_hello(const tls_client_options& options = {});

// One request over a fresh TLS connection.
http_reply https_call(uint16_t port, const std::string& method, const std::string& target,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      const std::string& body = {});

}  // namespace kwm::test
