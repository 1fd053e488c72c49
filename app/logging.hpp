#pragma once
// Log setup: one line per event on stderr, either logrus-like text as the original's
// (`time="…" level=info msg="…" connection=12 user=alice`) or one JSON object per line for
// log shippers. Events are rendered by actors/event_log.hpp.
#include <string>

namespace kwm::app {

// Levels of the original: panic, fatal, error, warn, info, debug (plus trace).
bool is_log_level(const std::string& level);
// `format` is "text" or "json".
void setup_logging(const std::string& level, bool timestamps, const std::string& format = "text");

}  // namespace kwm::app
