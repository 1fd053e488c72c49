#pragma once
// Incoming frame rate limit of one RTM connection (spec §4.3, D17): a token bucket plus
// a count of rejections within a sliding 10-second window.
#include <chrono>
#include <cstdint>
#include <algorithm>
#include <vector>

namespace kwm::protocol {

struct rate_limit_settings {
  uint32_t tokens_per_second = 50;  // 0 = no rate limit
  uint32_t burst = 200;
  uint32_t close_after_rejections = 100;  // within the window; 0 = never close
  std::chrono::seconds window{10};
};

class frame_rate_limiter {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  enum class verdict { accept, reject, close };

  explicit frame_rate_limiter(const rate_limit_settings& settings, time_point now)
      : settings_(settings), tokens_(settings.burst), refilled_at_(now) {}

  verdict admit(time_point now) {
    if (settings_.tokens_per_second == 0) return verdict::accept;
    refill(now);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return verdict::accept;
    }
    // Rejections are rare, so a vector (free when empty) beats a deque here.
    rejections_.erase(rejections_.begin(),
                      std::find_if(rejections_.begin(), rejections_.end(),
                                   [&](time_point t) { return now - t < settings_.window; }));
    rejections_.push_back(now);
    if (settings_.close_after_rejections != 0 &&
        rejections_.size() >= settings_.close_after_rejections)
      return verdict::close;
    return verdict::reject;
  }

 private:
  void refill(time_point now) {
    const std::chrono::duration<double> elapsed = now - refilled_at_;
    refilled_at_ = now;
    tokens_ += elapsed.count() * settings_.tokens_per_second;
    if (tokens_ > settings_.burst) tokens_ = settings_.burst;
  }

  rate_limit_settings settings_;
  double tokens_;
  time_point refilled_at_;
  std::vector<time_point> rejections_;
};

}  // namespace kwm::protocol
