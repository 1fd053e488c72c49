#pragma once
// Log setup: one line per event on stderr, logrus-like as the original's
// (`time="…" level=info msg="…"`).
#include <string>

namespace kwm::app {

// Levels of the original: panic, fatal, error, warn, info, debug (plus trace).
bool is_log_level(const std::string& level);
void setup_logging(const std::string& level, bool timestamps);

}  // namespace kwm::app
