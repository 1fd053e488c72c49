#pragma once
// A frame_sink that records what an actor writes, for actor tests without sockets.
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "net/websocket_link.hpp"

namespace kwm::test {

// The frames of several sinks in the one order they were written: for tests of the order
// across connections (D21).
class frame_journal {
 public:
  void record(const std::string& who, const std::string& frame) {
    std::lock_guard<std::mutex> guard(mutex_);
    entries_.emplace_back(who, frame);
  }
  std::vector<std::pair<std::string, std::string>> entries() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return entries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> entries_;
};

class recording_sink : public net::frame_sink {
 public:
  recording_sink() = default;
  // Also records every frame in `journal` under `name`.
  recording_sink(std::shared_ptr<frame_journal> journal, std::string name)
      : journal_(std::move(journal)), name_(std::move(name)) {}

  void send(net::frame text) override {
    if (journal_) journal_->record(name_, *text);
    std::lock_guard<std::mutex> guard(mutex_);
    frames_.push_back(*text);
  }
  void close(net::close_code code, std::string reason) override {
    std::lock_guard<std::mutex> guard(mutex_);
    closes_.emplace_back(code, std::move(reason));
  }
  std::vector<std::string> frames() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return frames_;
  }
  std::vector<std::pair<net::close_code, std::string>> closes() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return closes_;
  }
  // Removes and returns the frames recorded so far.
  std::vector<std::string> take_frames() {
    std::lock_guard<std::mutex> guard(mutex_);
    return std::exchange(frames_, {});
  }

 private:
  std::shared_ptr<frame_journal> journal_;
  std::string name_;
  mutable std::mutex mutex_;
  std::vector<std::string> frames_;
  std::vector<std::pair<net::close_code, std::string>> closes_;
};

}  // namespace kwm::test
