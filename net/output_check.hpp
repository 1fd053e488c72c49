#pragma once
// D19 in test builds: with KWM_CHECK_OUTPUT every text frame a WebSocket session queues and
// every JSON body the HTTP side writes is validated, and the process aborts with the
// offending bytes on the first invalid one, so any test that makes the server write
// invalid JSON fails loudly. Without the option the checks compile to nothing.
#include <string_view>

namespace kwm::net {

// Returns whether `text` is valid UTF-8 JSON. Set once at startup by the application
// (net does not know JSON).
using output_validator = bool (*)(std::string_view text);

#ifdef KWM_CHECK_OUTPUT
void set_output_validator(output_validator validator);
void check_outgoing_frame(std::string_view text);
#else
inline void set_output_validator(output_validator) {}
inline void check_outgoing_frame(std::string_view) {}
#endif

}  // namespace kwm::net
