#pragma once
// The outgoing frames of one WebSocket, in order. A vector with a moving head instead of
// std::deque, because an empty deque already costs ~600 bytes and most connections are
// idle with nothing queued.
#include <cstddef>
#include <vector>

#include "net/websocket_link.hpp"

namespace kwm::net {

class frame_queue {
 public:
  bool empty() const { return head_ == frames_.size(); }
  std::size_t size() const { return frames_.size() - head_; }
  const frame& front() const { return frames_[head_]; }

  void push_back(frame f) { frames_.push_back(std::move(f)); }

  void pop_front() {
    frames_[head_++].reset();
    if (head_ == frames_.size()) {
      clear();
    } else if (head_ >= 32 && head_ * 2 >= frames_.size()) {
      frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  // Drops everything behind the front frame (which a write may still be using).
  void keep_front_only() { frames_.resize(head_ + 1); }

  void clear() {
    frames_.clear();
    head_ = 0;
    if (frames_.capacity() > 16) frames_.shrink_to_fit();
  }

 private:
  std::vector<frame> frames_;
  std::size_t head_ = 0;
};

}  // namespace kwm::net
