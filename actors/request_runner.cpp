#include "actors/request_runner.hpp"

#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <algorithm>

#include "actors/event_log.hpp"

namespace kwm::actors {
namespace {

caf::behavior request_runner(caf::event_based_actor* self) {
  return {
      [self](run_atom, const std::shared_ptr<request_step>& step) { (*step)(self); },
  };
}

}  // namespace

std::shared_ptr<request_runners> request_runners::make(caf::actor_system& system,
                                                       std::size_t count) {
  std::shared_ptr<request_runners> runners(new request_runners(system));
  std::lock_guard<std::mutex> guard(runners->mutex_);
  for (std::size_t slot = 0; slot < std::max<std::size_t>(count, 1); ++slot)
    runners->runners_.push_back(runners->spawn_runner(slot));
  return runners;
}

caf::actor request_runners::spawn_runner(std::size_t slot) {
  auto runner = system_.spawn(request_runner);
  runner->attach_functor([weak = weak_from_this(), slot](const caf::error& reason) {
    auto self = weak.lock();
    if (!self) return;
    std::lock_guard<std::mutex> guard(self->mutex_);
    if (self->stopped_) return;
    log::error("request runner ended, replacing it", {{"reason", caf::to_string(reason)}});
    self->runners_[slot] = self->spawn_runner(slot);
  });
  return runner;
}

void request_runners::run(request_step step) {
  caf::actor runner;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (stopped_) return;
    runner = runners_[next_.fetch_add(1, std::memory_order_relaxed) % runners_.size()];
  }
  caf::anon_send(runner, run_atom::value, std::make_shared<request_step>(std::move(step)));
}

void request_runners::stop() {
  std::lock_guard<std::mutex> guard(mutex_);
  stopped_ = true;
  for (const auto& runner : runners_) caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
}

}  // namespace kwm::actors
