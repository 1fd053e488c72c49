#include "actors/mcu_api.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/mcu_broker.hpp"
#include "protocol/chats_rules.hpp"
#include "protocol/mcu_output.hpp"

namespace kwm::actors {
namespace {

const auto no_timeout = caf::infinite;

// Does the client offer kwmmcu-protocol among its comma-separated subprotocols?
bool offers_mcu_subprotocol(const net::http_request& request) {
  std::string_view offered = request.header("sec-websocket-protocol");
  while (!offered.empty()) {
    const auto comma = offered.find(',');
    if (protocol::trim_space(offered.substr(0, comma)) == protocol::mcu_subprotocol) return true;
    if (comma == std::string_view::npos) break;
    offered.remove_prefix(comma + 1);
  }
  return false;
}

net::http_response subprotocol_required() {
  return net::http_response::text_error(400, "kwmmcu-protocol subprotocol required");
}

net::websocket_options mcu_options() {
  net::websocket_options options;  // no farewell: the MCU gets no hello and no goodbye
  options.subprotocol = std::string(protocol::mcu_subprotocol);
  return options;
}

// Control sockets carry nothing the server acts on; only their end matters.
class control_listener : public net::frame_listener {
 public:
  control_listener(mcu_broker_actor broker, uint64_t number) : broker_(std::move(broker)), number_(number) {}
  void on_text(std::string) override {}
  void on_binary(std::size_t) override {}
  void on_closed() override { caf::anon_send(broker_, closed_atom::value, number_); }

 private:
  mcu_broker_actor broker_;
  uint64_t number_;
};

class data_listener : public net::frame_listener {
 public:
  data_listener(pipeline_actor pipeline, uint64_t generation)
      : pipeline_(std::move(pipeline)), generation_(generation) {}
  void on_text(std::string text) override { caf::anon_send(pipeline_, text_atom::value, std::move(text), generation_); }
  void on_binary(std::size_t) override {}
  void on_closed() override { caf::anon_send(pipeline_, closed_atom::value, generation_); }

 private:
  pipeline_actor pipeline_;
  uint64_t generation_;
};

}  // namespace

void handle_mcu_control_open(const rtm_services& services, std::shared_ptr<net::pending_websocket> websocket) {
  if (!offers_mcu_subprotocol(websocket->request())) return websocket->reject(subprotocol_required());
  services.system->spawn([broker = services.mcu, websocket](caf::event_based_actor* self) {
    self->request(broker, no_timeout, control_atom::value, websocket->sink())
        .then(
            [=](uint64_t number) {
              websocket->accept(std::make_unique<control_listener>(broker, number), mcu_options());
            },
            [=](const caf::error&) { websocket->reject(net::http_response::text_error(503, "unavailable")); });
  });
}

void handle_mcu_data_open(const rtm_services& services, std::shared_ptr<net::pending_websocket> websocket,
                          std::string transaction) {
  services.system->spawn([broker = services.mcu, websocket, transaction](caf::event_based_actor* self) {
    // Unknown transaction first (404), then the subprotocol (400) without using it up.
    self->request(broker, no_timeout, claim_atom::value, transaction, false)
        .then(
            [=](const pipeline_actor& waiting) {
              if (!waiting) return websocket->reject(net::http_response::not_found());
              if (!offers_mcu_subprotocol(websocket->request())) return websocket->reject(subprotocol_required());
              self->request(broker, no_timeout, claim_atom::value, transaction, true)
                  .then([=](const pipeline_actor& pipeline) {
                    if (!pipeline) return websocket->reject(net::http_response::not_found());
                    const auto generation = next_data_socket_number();
                    auto sink = websocket->sink();
                    caf::anon_send(pipeline, data_atom::value, sink, generation);
                    websocket->accept(std::make_unique<data_listener>(pipeline, generation), mcu_options());
                  });
            },
            [=](const caf::error&) { websocket->reject(net::http_response::not_found()); });
  });
}

}  // namespace kwm::actors
