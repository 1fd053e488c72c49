#pragma once
// The pipeline actor (spec §3.17): the link between one pipelined channel and the external
// MCU. It attaches through the broker, owns the data socket once the MCU opens it, writes the
// members' signals there and hands the MCU's frames back to the channel for delivery.
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "actors/actors.hpp"
#include "protocol/search_pattern.hpp"

namespace kwm::actors {

// Which channels get a pipeline, and where attaches go. Set only with --enable-mcu-api.
struct pipeline_settings {
  mcu_broker_actor broker;
  protocol::search_pattern forced;  // --pipeline-forced-regexp (D22), searched in the channel id
  std::chrono::milliseconds reattach_delay{3'000};
  std::chrono::milliseconds watchdog{10'000};

  bool applies_to(const std::string& channel_id) const { return forced.found_in(channel_id); }
};
using pipeline_settings_pointer = std::shared_ptr<const pipeline_settings>;

struct pipeline_state {
  static inline const char* name = "pipeline";

  std::string channel_id;
  channel_actor channel;
  pipeline_settings_pointer settings;
  int64_t handle = 0;                        // from the broker's first attach
  // The data socket while open. Held through a shared slot so that the exit handler can
  // still close it after CAF has destroyed this state.
  std::shared_ptr<std::shared_ptr<net::frame_sink>> data_slot = std::make_shared<std::shared_ptr<net::frame_sink>>();
  std::shared_ptr<net::frame_sink>& data = *data_slot;
  uint64_t data_generation = 0;              // of the open data socket
  bool attached_before = false;              // a later data socket is a re-attach
  uint64_t attempt = 0;                      // number of the newest scheduled attach attempt
};

// Spawned by (and linked to) a pipelined channel; attaches right away.
pipeline_actor spawn_pipeline(caf::actor_system& system, std::string channel_id, channel_actor channel,
                              pipeline_settings_pointer settings);

}  // namespace kwm::actors
