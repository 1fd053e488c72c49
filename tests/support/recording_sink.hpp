#pragma once
// A frame_sink that records what an actor writes, for actor tests without sockets.
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "net/websocket_link.hpp"

namespace kwm::test {

class recording_sink : public net::frame_sink {
 public:
  void send(net::frame text) override {
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
  mutable std::mutex mutex_;
  std::vector<std::string> frames_;
  std::vector<std::pair<net::close_code, std::string>> closes_;
};

}  // namespace kwm::test
