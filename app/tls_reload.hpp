#pragma once
// The operator's view of the listener's TLS pair (D24): what is logged when it is loaded at
// startup and when SIGHUP reloads it.
namespace kwm::net {
class tls_context;
}

namespace kwm::app {

// Logs the loaded certificate's subject and expiry; a warning when it is outside its validity.
void log_tls_certificate(const net::tls_context& tls);

// Reads the pair again: new handshakes use it, live connections keep theirs. A file that
// cannot be used is logged as an error and the old pair stays.
void reload_tls(net::tls_context& tls);

}  // namespace kwm::app
