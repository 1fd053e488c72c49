#pragma once
// How the cluster code logs without depending on the server's logger: the application
// passes a function (app/ wires it to kwm::log); tests may pass one that records lines.
#include <functional>
#include <initializer_list>
#include <span>
#include <string_view>
#include <utility>

namespace kwm::cluster {

enum class log_level : unsigned char { debug, info, warn, error };

using log_field = std::pair<std::string_view, std::string_view>;
using log_function =
    std::function<void(log_level, std::string_view message, std::span<const log_field> fields)>;

// Calls `log` when it is set.
inline void emit(const log_function& log, log_level level, std::string_view message,
                 std::initializer_list<log_field> fields = {}) {
  if (log) log(level, message, std::span<const log_field>(fields.begin(), fields.size()));
}

}  // namespace kwm::cluster
