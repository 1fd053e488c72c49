#pragma once
// Long-lived actors for the actor steps of HTTP requests (connect, TURN, WebSocket open).
// The interface (run_atom, request_step) is in actors/actors.hpp.
#include <atomic>
#include <cstddef>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/actors.hpp"

namespace kwm::actors {

class request_runners {
 public:
  // `count` runners (at least one), e.g. one per io thread.
  request_runners(caf::actor_system& system, std::size_t count);
  // Runs `step` inside one of the runners, round robin; `self` is that runner for every
  // request the step makes and every continuation of it.
  void run(request_step step);
  // Ends every runner (before the actor system waits for its actors); steps still waiting
  // for an answer get none.
  void stop();

 private:
  std::vector<caf::actor> runners_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace kwm::actors
