#pragma once
// Long-lived actors for the actor steps of HTTP requests (connect, TURN, WebSocket open).
// The interface (run_atom, request_step) is in actors/actors.hpp.
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/actors.hpp"

namespace kwm::actors {

class request_runners : public std::enable_shared_from_this<request_runners> {
 public:
  // `count` runners (at least one), e.g. one per io thread.
  static std::shared_ptr<request_runners> make(caf::actor_system& system, std::size_t count);

  // Runs `step` inside one of the runners, round robin; `self` is that runner for every
  // request the step makes and every continuation of it. Any thread.
  void run(request_step step);
  // Ends every runner (before the actor system waits for its actors); steps still waiting
  // for an answer get none.
  void stop();

 private:
  explicit request_runners(caf::actor_system& system) : system_(system) {}
  // A runner ends only through stop() or an exception in a step or a continuation (CAF
  // 0.17 quits the actor then); in the second case its slot gets a new runner, so the
  // requests that come after are served (those in flight on the old one are lost).
  caf::actor spawn_runner(std::size_t slot);

  caf::actor_system& system_;
  std::mutex mutex_;  // guards runners_ and stopped_
  std::vector<caf::actor> runners_;
  bool stopped_ = false;
  std::atomic<std::size_t> next_{0};
};

}  // namespace kwm::actors
