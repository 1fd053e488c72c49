#include "actors/mcu_broker.hpp"

#include <caf/actor_system.hpp>

#include <atomic>

#include "actors/event_log.hpp"
#include "protocol/mcu_output.hpp"
#include "protocol/random.hpp"

namespace kwm::actors {
namespace {

using self_pointer = mcu_broker_actor::stateful_pointer<mcu_broker_state>;

mcu_broker_actor::behavior_type mcu_broker(self_pointer self, mcu_broker_settings settings) {
  self->state.settings = settings;
  self->delayed_send(self, settings.transaction_lifetime, sweep_atom::value);
  return {
      [=](control_atom, std::shared_ptr<net::frame_sink>& sink) -> uint64_t {
        return add_control(self->state, std::move(sink));
      },
      [=](closed_atom, uint64_t number) { remove_control(self->state, number); },
      [=](attach_atom, int64_t handle, const pipeline_actor& pipeline) -> int64_t {
        auto& st = self->state;
        auto control = next_control(st);
        if (!control) return 0;
        if (handle == 0) handle = st.next_handle++;
        auto transaction = new_transaction(st);
        control->send(net::make_frame(protocol::render_mcu_control("attach", transaction, handle)));
        st.pending[transaction] = {pipeline, self->clock().now()};
        return handle;
      },
      [=](claim_atom, const std::string& transaction, bool take) -> pipeline_actor {
        auto& pending = self->state.pending;
        auto it = pending.find(transaction);
        if (it == pending.end()) return {};
        auto pipeline = it->second.pipeline;
        if (take) pending.erase(it);
        return pipeline;
      },
      [=](detach_atom, int64_t handle) {
        if (auto control = next_control(self->state))
          control->send(net::make_frame(protocol::render_mcu_control("detach", "", handle)));
      },
      [=](sweep_atom) {
        forget_old_transactions(self->state, self->clock().now());
        self->delayed_send(self, self->state.settings.transaction_lifetime, sweep_atom::value);
      },
  };
}

}  // namespace

uint64_t add_control(mcu_broker_state& st, std::shared_ptr<net::frame_sink> sink) {
  const auto number = st.next_control++;
  st.controls.emplace(number, std::move(sink));
  log::info("MCU control socket connected", {{"control", std::to_string(number)}});
  return number;
}

void remove_control(mcu_broker_state& st, uint64_t number) {
  if (st.controls.erase(number) != 0)
    log::info("MCU control socket closed", {{"control", std::to_string(number)}});
}

std::shared_ptr<net::frame_sink> next_control(mcu_broker_state& st) {
  if (st.controls.empty()) return nullptr;
  auto it = st.controls.upper_bound(st.last_used_control);
  if (it == st.controls.end()) it = st.controls.begin();
  st.last_used_control = it->first;
  return it->second;
}

std::string new_transaction(const mcu_broker_state& st) {
  std::string transaction;
  do {
    transaction = protocol::random_string(12);
  } while (st.pending.count(transaction) != 0);
  return transaction;
}

void forget_old_transactions(mcu_broker_state& st, caf::actor_clock::time_point now) {
  const auto oldest = now - st.settings.transaction_lifetime;
  std::erase_if(st.pending, [&](const auto& entry) { return entry.second.since < oldest; });
}

uint64_t next_data_socket_number() {
  static std::atomic<uint64_t> count{0};
  return ++count;
}

mcu_broker_actor spawn_mcu_broker(caf::actor_system& system, mcu_broker_settings settings) {
  return system.spawn(mcu_broker, settings);
}

}  // namespace kwm::actors
