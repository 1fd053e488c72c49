#pragma once
// Several Redis calls whose results make one callback: it runs once, with the first
// failure or, after the last part, with what the parts collected.
#include <cstddef>
#include <memory>

#include "cluster/result.hpp"

namespace kwm::cluster::detail {

template <class T>
class fan_in {
 public:
  static std::shared_ptr<fan_in> make(std::size_t parts, callback<T> finished) {
    auto join = std::make_shared<fan_in>();
    join->outstanding_ = parts;
    join->finished_ = std::move(finished);
    return join;
  }

  T& collected() { return collected_; }
  void fail(const error& why) {
    if (over_) return;
    over_ = true;
    finished_(why);
  }
  void part_done() {
    if (!over_ && outstanding_ > 0 && --outstanding_ == 0) finish();
  }
  // Also for zero parts.
  void finish() {
    if (over_) return;
    over_ = true;
    finished_(std::move(collected_));
  }

 private:
  std::size_t outstanding_ = 0;
  bool over_ = false;
  T collected_{};
  callback<T> finished_;
};

}  // namespace kwm::cluster::detail
