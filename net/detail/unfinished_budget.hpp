#pragma once
// The memory all unfinished WebSocket messages may hold together (D20). Each holder reports
// what it holds; when the total passes the limit, the largest holders are chosen to be
// closed until the rest fits. Thread-safe; holders report from their own io threads.
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace kwm::net::detail {

// `Key` identifies a holder; `Handle` is what the caller needs to close it.
template <class Key, class Handle>
class unfinished_budget {
 public:
  explicit unfinished_budget(std::size_t limit) : limit_(limit) {}

  // Records that `holder` now holds `bytes` (0 when its messages are complete or it is
  // gone). Returns the holders to close, largest first; each is chosen once and no longer
  // counted.
  std::vector<Handle> report(const Key& key, const Handle& handle, std::size_t bytes) {
    std::vector<Handle> evicted;
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = held_.find(key);
    if (it == held_.end()) {
      if (bytes == 0) return evicted;
      it = held_.emplace(key, entry{0, handle}).first;
    }
    total_ = total_ - it->second.bytes + bytes;
    if (bytes == 0)
      held_.erase(it);
    else
      it->second.bytes = bytes;
    if (limit_ == 0) return evicted;
    while (total_ > limit_ && !held_.empty()) {
      auto largest = held_.begin();
      for (auto candidate = held_.begin(); candidate != held_.end(); ++candidate)
        if (candidate->second.bytes > largest->second.bytes) largest = candidate;
      total_ -= largest->second.bytes;
      evicted.push_back(largest->second.handle);
      held_.erase(largest);
    }
    return evicted;
  }

  std::size_t total() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return total_;
  }

 private:
  mutable std::mutex mutex_;
  std::size_t limit_;
  std::size_t total_ = 0;
  struct entry {
    std::size_t bytes;
    Handle handle;
  };
  std::unordered_map<Key, entry> held_;
};

}  // namespace kwm::net::detail
