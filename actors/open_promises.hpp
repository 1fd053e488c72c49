#pragma once
// Response promises that a cluster actor answers later, after a Redis round trip or another
// node's reply. CAF 0.17 drops a promise that is never answered without a word to the
// requester, and a requester that `await`s it skips every other message, its exit message
// included: a node whose registry quit with a lookup open waited for ever at shutdown for the
// connection that asked. So such an actor keeps its late promises here and, before it quits,
// answers the ones still open with an error.
#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace kwm::actors {

// One promise shared by every continuation that may answer it: answered at most once (CAF's
// promise copies do not know of each other's answers).
template <class T>
class shared_promise {
 public:
  explicit shared_promise(caf::typed_response_promise<T> promise)
      : promise_(std::make_shared<caf::typed_response_promise<T>>(std::move(promise))) {}

  template <class U>
  void deliver(U&& value) const {
    if (promise_->pending()) promise_->deliver(std::forward<U>(value));
  }
  void fail(caf::error error) const {
    if (promise_->pending()) promise_->deliver(std::move(error));
  }
  // What a handler returns: the reply comes later (or has just been given).
  caf::typed_response_promise<T> handle() const { return *promise_; }

 private:
  friend class open_promises;
  std::shared_ptr<caf::typed_response_promise<T>> promise_;
};

class open_promises {
 public:
  template <class T>
  shared_promise<T> keep(caf::typed_response_promise<T> promise) {
    shared_promise<T> shared(std::move(promise));
    forget_answered();
    std::weak_ptr<caf::typed_response_promise<T>> weak = shared.promise_;
    entries_.push_back({weak, [weak] {
                          if (auto open = weak.lock(); open && open->pending())
                            open->deliver(caf::make_error(caf::sec::request_receiver_down));
                        }});
    return shared;
  }

  // Before the actor quits.
  void fail_all() {
    for (auto& entry : entries_) entry.fail();
    entries_.clear();
  }

  std::size_t size() const { return entries_.size(); }

 private:
  // A promise is gone once no continuation holds it any more (answered, or its call ended).
  // Swept when the list has doubled since the last sweep, so keeping one stays O(1) amortised.
  void forget_answered() {
    if (entries_.size() < sweep_at_) return;
    std::erase_if(entries_, [](const entry& e) { return e.alive.expired(); });
    sweep_at_ = std::max<std::size_t>(64, entries_.size() * 2);
  }

  struct entry {
    std::weak_ptr<void> alive;
    std::function<void()> fail;
  };
  std::vector<entry> entries_;
  std::size_t sweep_at_ = 64;
};

}  // namespace kwm::actors
