#include "actors/pipeline.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/event_log.hpp"
#include "protocol/mcu_output.hpp"
#include "protocol/rtm_parse.hpp"
#include "protocol/webrtc_output.hpp"

namespace kwm::actors {
namespace {

using self_pointer = pipeline_actor::stateful_pointer<pipeline_state>;

// The next attach attempt after `delay`; an earlier scheduled one is superseded.
void schedule_attach(self_pointer self, std::chrono::milliseconds delay) {
  self->delayed_send(self, delay, reattach_atom::value, ++self->state.attempt);
}

// Asks the broker to send `attach` (a new transaction each time); the watchdog tries again
// until a data socket opens.
void attach(self_pointer self) {
  auto& st = self->state;
  self->request(st.settings->broker, caf::infinite, attach_atom::value, st.handle,
                caf::actor_cast<pipeline_actor>(self))
      .then([=](int64_t handle) {
        if (handle != 0) self->state.handle = handle;
        else log::warn("no MCU control socket for pipeline", {{"channel", self->state.channel_id}});
      });
  schedule_attach(self, st.settings->watchdog);
}

// Frames from the MCU: webrtc messages with a source and a target, re-serialised for the
// target member. Anything else ends the data socket, as in the original.
bool deliver_from_mcu(self_pointer self, const std::string& text) {
  auto frame = protocol::parse_client_frame(text);
  auto* message = std::get_if<protocol::webrtc_message>(&frame);
  if (message == nullptr) return std::holds_alternative<protocol::ping_message>(frame) ||
                                 std::holds_alternative<protocol::chats_message>(frame);
  if (message->source.empty() || message->target.empty()) return true;  // undeliverable: dropped
  protocol::forward_options options{message->source, std::nullopt, std::nullopt, true};
  self->send(self->state.channel, deliver_atom::value, message->target,
             net::make_frame(protocol::render_forwarded(*message, options)));
  return true;
}

pipeline_actor::behavior_type pipeline(self_pointer self, std::string channel_id, channel_actor channel,
                                       pipeline_settings_pointer settings) {
  auto& st = self->state;
  st.channel_id = std::move(channel_id);
  st.channel = std::move(channel);
  st.settings = std::move(settings);
  // Whatever ends the pipeline also ends its data socket.
  self->attach_functor([slot = st.data_slot](const caf::error&) {
    if (*slot) (*slot)->close(net::close_code::going_away);
  });
  attach(self);
  return {
      [=](pipeline_atom, const net::frame& frame) {
        auto& st = self->state;
        if (st.data) st.data->send(frame);
        else log::debug("pipeline has no data socket, signal dropped", {{"channel", st.channel_id}});
      },
      [=](data_atom, std::shared_ptr<net::frame_sink>& sink, uint64_t generation) {
        auto& st = self->state;
        if (st.data) st.data->close(net::close_code::going_away);  // a newer socket wins
        st.data = std::move(sink);
        st.data_generation = generation;
        st.data->send(net::make_frame(protocol::render_pipeline_announcement(st.channel_id)));
        log::info("MCU data socket attached", {{"channel", st.channel_id}, {"handle", std::to_string(st.handle)}});
        if (st.attached_before) self->send(st.channel, reset_atom::value);
        st.attached_before = true;
      },
      [=](text_atom, const std::string& text, uint64_t generation) {
        auto& st = self->state;
        if (generation != st.data_generation || !st.data) return;
        if (!deliver_from_mcu(self, text)) {
          log::warn("invalid frame from the MCU, closing its data socket", {{"channel", st.channel_id}});
          st.data->close(net::close_code::going_away);
        }
      },
      [=](closed_atom, uint64_t generation) {
        auto& st = self->state;
        if (generation != st.data_generation || !st.data) return;
        st.data.reset();
        log::info("MCU data socket closed", {{"channel", st.channel_id}});
        schedule_attach(self, st.settings->reattach_delay);
      },
      [=](reattach_atom, uint64_t attempt) {
        auto& st = self->state;
        if (attempt == st.attempt && !st.data) attach(self);
      },
      [=](detach_atom) {
        auto& st = self->state;
        if (st.handle != 0) self->send(st.settings->broker, detach_atom::value, st.handle);
        self->quit();
      },
  };
}

}  // namespace

pipeline_actor spawn_pipeline(caf::actor_system& system, std::string channel_id, channel_actor channel,
                              pipeline_settings_pointer settings) {
  return system.spawn(pipeline, std::move(channel_id), std::move(channel), std::move(settings));
}

}  // namespace kwm::actors
