#include "app/tls_reload.hpp"

#include "actors/event_log.hpp"
#include "net/tls_context.hpp"

namespace kwm::app {

void log_tls_certificate(const net::tls_context& tls) {
  const auto certificate = tls.certificate();
  const bool outside_validity = certificate.expired || certificate.not_yet_valid;
  const char* message = certificate.expired         ? "TLS certificate has expired"
                        : certificate.not_yet_valid ? "TLS certificate is not valid yet"
                                                    : "TLS certificate loaded";
  log::event(outside_validity ? spdlog::level::warn : spdlog::level::info, message,
             {{"subject", certificate.subject},
              {"not_after", certificate.not_after},
              {"cert", tls.files().certificate_chain}});
}

void reload_tls(net::tls_context& tls) {
  if (auto error = tls.reload()) {
    log::error("TLS reload failed, keeping the previous certificate", {{"error", *error}});
    return;
  }
  log_tls_certificate(tls);
}

}  // namespace kwm::app
