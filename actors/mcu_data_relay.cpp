// The end of an MCU data socket whose pipeline lives on another node (docs/cluster.md, "MCU
// pipelines across nodes"). The data socket's listener talks to it as to the pipeline; it
// passes the socket's opening, text and end to the pipeline's node. Frames the pipeline
// writes come back over the bus to the socket directly (the link's socket table), without
// this actor.
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/cluster_mcu.hpp"

namespace kwm::actors {
namespace {

struct mcu_data_relay_state {
  static inline const char* name = "mcu_data_relay";
};

pipeline_actor::behavior_type mcu_data_relay(
    pipeline_actor::stateful_pointer<mcu_data_relay_state> self, cluster_link_pointer link,
    std::string node, std::string transaction) {
  const auto socket = self->id();
  // However it ends, frames for its socket no longer find it.
  self->attach_functor([link, socket](const caf::error&) { link->remove_socket(socket); });
  return {
      [=](data_atom, std::shared_ptr<net::frame_sink>& sink, uint64_t) {
        link->add_socket(socket, std::move(sink));
        link->send_op(node, transaction, cluster_op::mcu_open, {}, socket, {});
      },
      [=](text_atom, const std::string& text, uint64_t) {
        link->send_op(node, {}, cluster_op::mcu_text, {}, socket, text);
      },
      [=](closed_atom, uint64_t) {
        link->send_op(node, {}, cluster_op::mcu_closed, {}, socket, {});
        self->quit();
      },
      [](pipeline_atom, const net::frame&) {},
      [](reattach_atom, uint64_t) {},
      [=](detach_atom) { self->quit(); },  // looked up, never used
  };
}

}  // namespace

pipeline_actor spawn_mcu_data_relay(caf::actor_system& system, cluster_link_pointer link,
                                    std::string node, std::string transaction) {
  return system.spawn(mcu_data_relay, std::move(link), std::move(node), std::move(transaction));
}

}  // namespace kwm::actors
