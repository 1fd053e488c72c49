#include "app/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/event_log.hpp"

namespace kwm::app {
namespace {

spdlog::level::level_enum to_spdlog(const std::string& level) {
  if (level == "panic" || level == "fatal") return spdlog::level::critical;
  if (level == "error") return spdlog::level::err;
  if (level == "warn") return spdlog::level::warn;
  if (level == "debug") return spdlog::level::debug;
  if (level == "trace") return spdlog::level::trace;
  return spdlog::level::info;
}

}  // namespace

bool is_log_level(const std::string& level) {
  for (const char* known : {"panic", "fatal", "error", "warn", "info", "debug", "trace"})
    if (level == known) return true;
  return false;
}

void setup_logging(const std::string& level, bool timestamps, const std::string& format) {
  const bool json = format == "json";
  log::set_line_format(json ? log::line_format::json : log::line_format::text);
  auto logger = spdlog::get("kwmserverd");
  if (!logger) logger = spdlog::stderr_logger_mt("kwmserverd");
  // %v is the event rendered by log::render_event; the level names are logrus's.
  if (json)
    logger->set_pattern(timestamps ? R"({"time":"%Y-%m-%dT%H:%M:%S%z","level":"%l",%v})" : R"({"level":"%l",%v})");
  else
    logger->set_pattern(timestamps ? R"(time="%Y-%m-%dT%H:%M:%S%z" level=%l %v)" : R"(level=%l %v)");
  logger->set_level(to_spdlog(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace kwm::app
