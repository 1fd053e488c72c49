#pragma once
// Incoming rate limit of one RTM connection (spec §4.3, D17, D20): two token buckets, one
// counting frames and one counting bytes, plus a count of rejections within a sliding
// 10-second window. A frame passes only when both buckets hold enough; a refused frame
// takes nothing from either.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace kwm::protocol {

struct rate_limit_settings {
  uint32_t tokens_per_second = 50;  // frames; 0 = no frame limit
  uint32_t burst = 200;
  uint32_t bytes_per_second = 256 * 1024;  // 0 = no byte limit
  uint32_t burst_bytes = 2 * 1024 * 1024;
  uint32_t close_after_rejections = 100;  // within the window; 0 = never close
  std::chrono::seconds window{10};
};

// One refilling bucket; starts full.
class token_bucket {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  token_bucket(uint32_t per_second, uint32_t capacity, time_point now)
      : per_second_(per_second), capacity_(capacity), tokens_(capacity), refilled_at_(now) {}

  bool unlimited() const { return per_second_ == 0; }

  // Refills up to `now`, then tells whether `amount` tokens are there (without taking them).
  bool holds(double amount, time_point now) {
    if (unlimited()) return true;
    const std::chrono::duration<double> elapsed = now - refilled_at_;
    refilled_at_ = now;
    tokens_ = std::min<double>(capacity_, tokens_ + elapsed.count() * per_second_);
    return tokens_ >= amount;
  }
  void take(double amount) {
    if (!unlimited()) tokens_ -= amount;
  }

 private:
  uint32_t per_second_;
  uint32_t capacity_;
  double tokens_;
  time_point refilled_at_;
};

class frame_rate_limiter {
 public:
  using time_point = token_bucket::time_point;

  enum class verdict { accept, reject, close };

  explicit frame_rate_limiter(const rate_limit_settings& settings, time_point now)
      : settings_(settings),
        frames_(settings.tokens_per_second, settings.burst, now),
        bytes_(settings.bytes_per_second, settings.burst_bytes, now) {}

  // A data frame of `size` bytes arrived at `now`.
  verdict admit(time_point now, uint64_t size) {
    const auto byte_cost = static_cast<double>(size);
    const bool frame_ok = frames_.holds(1.0, now);
    if (bytes_.holds(byte_cost, now) && frame_ok) {
      frames_.take(1.0);
      bytes_.take(byte_cost);
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
  rate_limit_settings settings_;
  token_bucket frames_;
  token_bucket bytes_;
  std::vector<time_point> rejections_;
};

}  // namespace kwm::protocol
