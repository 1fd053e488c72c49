#include "actors/request_runner.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <algorithm>

namespace kwm::actors {
namespace {

caf::behavior request_runner(caf::event_based_actor* self) {
  return {
      [self](run_atom, const std::shared_ptr<request_step>& step) { (*step)(self); },
  };
}

}  // namespace

request_runners::request_runners(caf::actor_system& system, std::size_t count) {
  runners_.reserve(std::max<std::size_t>(count, 1));
  for (std::size_t i = 0; i < std::max<std::size_t>(count, 1); ++i)
    runners_.push_back(system.spawn(request_runner));
}

void request_runners::run(request_step step) {
  const std::size_t index = next_.fetch_add(1, std::memory_order_relaxed) % runners_.size();
  caf::anon_send(runners_[index], run_atom::value, std::make_shared<request_step>(std::move(step)));
}

void request_runners::stop() {
  for (const auto& runner : runners_) caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
}

}  // namespace kwm::actors
