#include "net/output_check.hpp"

#ifdef KWM_CHECK_OUTPUT
#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace kwm::net {
namespace {
std::atomic<output_validator> installed{nullptr};
}

void set_output_validator(output_validator validator) { installed.store(validator); }

void check_outgoing_frame(std::string_view text) {
  const auto validator = installed.load(std::memory_order_relaxed);
  if (validator == nullptr || validator(text)) return;
  std::fprintf(stderr, "KWM_CHECK_OUTPUT: invalid JSON written (%zu bytes): %.*s\n", text.size(),
               static_cast<int>(std::min<std::size_t>(text.size(), 2000)), text.data());
  std::abort();
}

}  // namespace kwm::net
#endif
