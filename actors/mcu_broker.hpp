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

// The parts the cluster twin (actors/cluster_mcu_broker.cpp) shares.
// A control socket opened: its number (logged).
uint64_t add_control(mcu_broker_state& st, std::shared_ptr<net::frame_sink> sink);
// A control socket closed (logged when it was known).
void remove_control(mcu_broker_state& st, uint64_t number);
// The control socket after the one used last (round-robin), or null when none is open.
std::shared_ptr<net::frame_sink> next_control(mcu_broker_state& st);
// A transaction id no pending attach uses.
std::string new_transaction(const mcu_broker_state& st);
// Forgets the transactions pending for longer than their lifetime.
void forget_old_transactions(mcu_broker_state& st, caf::actor_clock::time_point now);
// The number of the next data socket, unique in this process (the pipeline tells its
// sockets apart by it).
uint64_t next_data_socket_number();

}  // namespace kwm::actors
