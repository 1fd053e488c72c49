#pragma once
// Deterministic actor tests on CAF's test coordinator (stack notes §8.1): one thread,
// simulated time, explicit scheduling. caf/test/dsl.hpp is not used (P4).
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "protocol/auth_record.hpp"

namespace kwm::test {

struct deterministic_fixture {
  static caf::actor_system_config& testing(caf::actor_system_config& config) {
    config.set("scheduler.policy", caf::atom("testing"));
    return config;
  }

  deterministic_fixture()
      : system(testing(config)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(system.scheduler())),
        self(system) {}

  // Pending request timeouts would keep requesters alive forever on simulated time (P3).
  ~deterministic_fixture() {
    sched.run();
    sched.trigger_timeouts();
    sched.run();
  }

  // Sends a request from the test, runs the system, and returns the reply (P5).
  template <class Result, class Handle, class... Ts>
  std::optional<Result> ask(const Handle& receiver, Ts&&... xs) {
    self->send(receiver, std::forward<Ts>(xs)...);
    sched.run();
    std::optional<Result> result;
    self->receive([&](Result& value) { result = std::move(value); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  }

  // Reads live state of an actor (safe only here, where everything runs on one thread).
  template <class Impl, class Handle>
  Impl& deref(const Handle& handle) {
    auto* impl = dynamic_cast<Impl*>(caf::actor_cast<caf::abstract_actor*>(handle));
    REQUIRE(impl != nullptr);
    return *impl;
  }

  caf::actor_system_config config;
  caf::actor_system system;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

// The auth of an anonymous-mode connection of `user_id`.
inline protocol::auth_record anonymous_user(std::string user_id) {
  protocol::auth_record auth;
  auth.user_id = std::move(user_id);
  return auth;
}

}  // namespace kwm::test
