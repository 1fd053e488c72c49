#pragma once
// The MCU broker (spec §3.17): the MCU's control sockets, chosen round-robin for `attach`
// and `detach`, the handle counter, and the attach transactions waiting for their data socket.
#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "actors/actors.hpp"

namespace kwm::actors {

struct mcu_broker_settings {
  std::chrono::milliseconds transaction_lifetime{30'000};  // a data socket must open within this
};

struct mcu_broker_state {
  static inline const char* name = "mcu_broker";

  struct pending_attach {
    pipeline_actor pipeline;
    caf::actor_clock::time_point since;
  };
  std::map<uint64_t, std::shared_ptr<net::frame_sink>> controls;  // by number, in opening order
  uint64_t next_control = 1;
  uint64_t last_used_control = 0;  // round-robin position
  int64_t next_handle = 1;
  std::unordered_map<std::string, pending_attach> pending;  // by transaction
  mcu_broker_settings settings;
};

mcu_broker_actor spawn_mcu_broker(caf::actor_system& system, mcu_broker_settings settings = {});

}  // namespace kwm::actors
