#pragma once
// Startup checks that the configured limits fit together (D20), run before anything listens.
#include <optional>
#include <string>

#include "app/runtime_options.hpp"

namespace kwm::app {

struct limit_check {
  std::optional<std::string> error;    // the server must not start (usage error, exit 2)
  std::optional<std::string> warning;  // it may start, but a guarantee does not hold
};

// The outgoing queue bounds (D13) must hold the largest frame the server fans out given the
// field, group and chat limits; a frame no byte budget could ever admit is refused too.
limit_check check_limits(const runtime_options& options);

}  // namespace kwm::app
