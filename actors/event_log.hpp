#pragma once
// Structured log events: a message plus key/value fields (connection id, user id, reason),
// rendered as one logrus-like text line or one JSON object per event (app/logging.hpp picks
// the format at startup). Every log line of the server goes through here.
#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace kwm::log {

enum class line_format { text, json };

using field = std::pair<std::string_view, std::string_view>;

// The part of the line after time and level: `msg="…" key=value …` or `"msg":"…","key":"…"`.
std::string render_event(line_format format, std::string_view message, std::initializer_list<field> fields);

// Set once at startup, before any thread logs.
void set_line_format(line_format format);
line_format current_line_format();

// For call sites whose fields cost something to build (per connection, per message).
inline bool enabled(spdlog::level::level_enum level) { return spdlog::should_log(level); }

inline void event(spdlog::level::level_enum level, std::string_view message, std::initializer_list<field> fields = {}) {
  if (!spdlog::should_log(level)) return;
  spdlog::log(level, "{}", render_event(current_line_format(), message, fields));
}

inline void debug(std::string_view message, std::initializer_list<field> fields = {}) {
  event(spdlog::level::debug, message, fields);
}
inline void info(std::string_view message, std::initializer_list<field> fields = {}) {
  event(spdlog::level::info, message, fields);
}
inline void warn(std::string_view message, std::initializer_list<field> fields = {}) {
  event(spdlog::level::warn, message, fields);
}
inline void error(std::string_view message, std::initializer_list<field> fields = {}) {
  event(spdlog::level::err, message, fields);
}

}  // namespace kwm::log
