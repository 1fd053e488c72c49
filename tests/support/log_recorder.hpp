#pragma once
// Collects the lines a cluster component logs, for assertions on what was logged and how
// often (state changes are logged once each).
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/log.hpp"

namespace kwm::test {

class log_recorder {
 public:
  cluster::log_function function() {
    return [this](cluster::log_level, std::string_view message,
                  std::span<const cluster::log_field> fields) {
      std::string line(message);
      for (const auto& [key, value] : fields)
        line += " " + std::string(key) + "=" + std::string(value);
      std::lock_guard lock(mutex_);
      lines_.push_back(std::move(line));
    };
  }
  std::size_t count(std::string_view message) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        lines_.begin(), lines_.end(),
        [&](const std::string& line) { return line.compare(0, message.size(), message) == 0; }));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace kwm::test
