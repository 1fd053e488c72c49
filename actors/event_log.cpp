#include "actors/event_log.hpp"

#include <atomic>
#include <cstdio>

namespace kwm::log {
namespace {

std::atomic<line_format> configured_format{line_format::text};

void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
}

// logrus quotes a text value only when it needs it (empty, spaces, quotes, '=').
bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (const char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

}  // namespace

std::string render_event(line_format format, std::string_view message, std::initializer_list<field> fields) {
  std::string out;
  out.reserve(message.size() + 32 * fields.size() + 16);
  if (format == line_format::json) {
    out += R"("msg":")";
    append_escaped(out, message);
    out += '"';
    for (const auto& [key, value] : fields) {
      out += ",\"";
      append_escaped(out, key);
      out += "\":\"";
      append_escaped(out, value);
      out += '"';
    }
    return out;
  }
  out += R"(msg=")";
  append_escaped(out, message);
  out += '"';
  for (const auto& [key, value] : fields) {
    out += ' ';
    out += key;
    out += '=';
    if (needs_quotes(value)) {
      out += '"';
      append_escaped(out, value);
      out += '"';
    } else {
      out += value;
    }
  }
  return out;
}

void set_line_format(line_format format) { configured_format.store(format, std::memory_order_relaxed); }
line_format current_line_format() { return configured_format.load(std::memory_order_relaxed); }

}  // namespace kwm::log
