// The MCU pipeline end to end (issue #9, spec §1.8, §3.17, checklist §12.11) with a fake MCU
// written here: two control sockets, data sockets opened per attach, a crash of the data
// socket and the re-attach, delivery both ways, detach when the channel is swept, and a
// group that does not match the pattern staying a mesh.
#include <doctest/doctest.h>

#include "support/rtm_peer.hpp"

using namespace kwm::test;

namespace {

const std::vector<std::pair<std::string, std::string>> mcu_protocol = {{"Sec-WebSocket-Protocol", "kwmmcu-protocol"}};

kwm::app::runtime_options mcu_options() {
  auto options = test_options();
  options.mcu.enabled = true;
  options.mcu.reattach_delay = std::chrono::milliseconds(200);
  options.mcu.watchdog = std::chrono::milliseconds(1000);
  options.channels.empty_lifetime = std::chrono::milliseconds(500);
  return options;
}

std::string str(const rapidjson::Value& value, const char* key) {
  REQUIRE(value.HasMember(key));
  return value[key].GetString();
}

std::string join_request(const std::string& group, uint64_t id) {
  return R"({"type":"webrtc","subtype":"webrtc_group","id":)" + std::to_string(id) + R"(,"target":")" + group +
         R"(","group":")" + group + R"(","state":"gs","v":20180703})";
}

// The fake MCU's view of an `attach`.
struct attach_message {
  std::string transaction;
  int64_t handle = 0;
};

attach_message expect_attach(ws_client& control) {
  const auto text = control.next_text();
  REQUIRE(text.has_value());
  const auto doc = parse_json(*text);
  REQUIRE(doc.IsObject());
  CHECK(str(doc, "type") == "attach");
  CHECK(str(doc, "plugin") == "kwm.rtm.channel");
  return {str(doc, "transaction"), doc["handle_id"].GetInt64()};
}

std::unique_ptr<ws_client> open_data_socket(uint16_t port, const attach_message& attach, const std::string& channel) {
  auto data = std::make_unique<ws_client>(port, "/api/kwm/v2/mcu/websocket/" + attach.transaction, mcu_protocol);
  REQUIRE(data->is_open());
  CHECK(data->handshake.header("Sec-WebSocket-Protocol") == std::optional<std::string>("kwmmcu-protocol"));
  CHECK(data->next_text() ==
        std::optional<std::string>(R"({"type":"webrtc","subtype":"webrtc_channel","channel":")" + channel +
                                   R"(","v":20180703,"data":{"pipeline":{"pipeline":")" + channel +
                                   R"(","mode":"mcu-forward"}}})"));
  return data;
}

}  // namespace

TEST_CASE("MCU sockets: trusted, switched on, GET, known transaction, kwmmcu-protocol (D9, D11)") {
  {
    server_fixture disabled;
    CHECK(http_call(disabled.port(), "GET", "/api/kwm/v2/mcu/websocket").status == 404);
  }
  server_fixture server(mcu_options());
  const auto port = server.port();
  ws_client refused(port, "/api/kwm/v2/mcu/websocket");
  CHECK(refused.handshake.status == 400);
  CHECK(refused.handshake.body == "kwmmcu-protocol subprotocol required\n");
  CHECK(http_call(port, "POST", "/api/v1/mcu/websocket").status == 405);
  ws_client unknown(port, "/api/kwm/v2/mcu/websocket/no-such-transaction", mcu_protocol);
  CHECK(unknown.handshake.status == 404);
  for (const char* path : {"/api/kwm/v2/mcu/websocket", "/api/v1/mcu/websocket"}) {
    ws_client control(port, path, mcu_protocol);
    CHECK(control.is_open());
    CHECK(control.handshake.header("Sec-WebSocket-Protocol") == std::optional<std::string>("kwmmcu-protocol"));
  }
}

TEST_CASE("MCU pipeline: attach round-robin, signals both ways, re-attach with reset, detach on sweep") {
  server_fixture server(mcu_options());
  const auto port = server.port();
  ws_client control_a(port, "/api/kwm/v2/mcu/websocket", mcu_protocol);
  ws_client control_b(port, "/api/v1/mcu/websocket", mcu_protocol);
  REQUIRE(control_a.is_open());
  REQUIRE(control_b.is_open());
  rtm_peer alice(server, "alice");
  rtm_peer bob(server, "bob");
  // Each control socket is registered with the broker before its upgrade is answered.

  alice.send(join_request("conference/room", 1));
  const auto joined = alice.next_json();
  CHECK(str(joined["data"]["pipeline"], "pipeline") == "@conference/room");
  CHECK(str(joined["data"]["pipeline"], "mode") == "mcu-forward");
  const auto alice_hash = str(joined, "hash");
  const auto first = expect_attach(control_a);  // round-robin: the first control socket first
  CHECK(first.handle == 1);
  CHECK(first.transaction.size() == 16);

  // The transaction is refused without the subprotocol and stays usable (D11).
  ws_client no_protocol(port, "/api/kwm/v2/mcu/websocket/" + first.transaction);
  CHECK(no_protocol.handshake.status == 400);
  auto data = open_data_socket(port, first, "@conference/room");
  ws_client reused(port, "/api/kwm/v2/mcu/websocket/" + first.transaction, mcu_protocol);
  CHECK(reused.handshake.status == 404);  // used once

  bob.send(join_request("conference/room", 1));
  const auto bob_joined = bob.next_json();
  CHECK(bob_joined["data"].HasMember("pipeline"));
  // alice sees bob join: the notice, then the update with the pipeline.
  alice.next();
  const auto update = alice.next_json();
  CHECK(update["data"]["group"]["members"].Size() == 2);
  CHECK(str(update["data"]["pipeline"], "pipeline") == "@conference/room");

  // A member's signal goes to the data socket, whatever its target, with source and id.
  alice.send(R"({"type":"webrtc","subtype":"webrtc_signal","id":7,"target":"@conference/room","group":"conference/room",)"
             R"("state":"gs","channel":"@conference/room","hash":")" + alice_hash +
             R"(","v":20180703,"data":{"type":"offer","sdp":"v=0"}})");
  auto forwarded = parse_json(*data->next_text());
  CHECK(str(forwarded, "subtype") == "webrtc_signal");
  CHECK(str(forwarded, "source") == "alice");
  CHECK(forwarded["id"].GetUint64() == 7);
  CHECK(str(forwarded["data"], "sdp") == "v=0");
  alice.send(R"({"type":"webrtc","subtype":"webrtc_signal","id":8,"target":"bob","group":"conference/room",)"
             R"("state":"gs","channel":"@conference/room","hash":")" + alice_hash + R"(","v":20180703,"data":{"n":2}})");
  forwarded = parse_json(*data->next_text());
  CHECK(str(forwarded, "target") == "bob");
  CHECK(bob.until_pong().empty());  // never directly to the member

  // The MCU's frames reach the target member.
  data->send_text(R"({"type":"webrtc","subtype":"webrtc_signal","source":"@conference/room","target":"bob",)"
                  R"("channel":"@conference/room","state":"mcu","v":20180703,"data":{"type":"answer","sdp":"v=1"}})");
  const auto from_mcu = bob.next_json();
  CHECK(str(from_mcu, "source") == "@conference/room");
  CHECK(str(from_mcu["data"], "sdp") == "v=1");
  CHECK(alice.until_pong().empty());

  // The data socket dies: a new attach (same handle) on the next control socket, then a
  // reset update to every member once the MCU is back.
  data.reset();
  const auto second = expect_attach(control_b);
  CHECK(second.handle == first.handle);
  CHECK(second.transaction != first.transaction);
  data = open_data_socket(port, second, "@conference/room");
  for (auto* member : {&alice, &bob}) {
    const auto reset = member->next_json();
    CHECK(reset["data"]["group"]["reset"].GetBool());
    CHECK(reset["data"].HasMember("pipeline"));
  }

  // Without a data socket for longer than the watchdog period, attach is repeated.
  data.reset();
  const auto third = expect_attach(control_a);
  const auto fourth = expect_attach(control_b);
  CHECK(fourth.handle == first.handle);
  CHECK(fourth.transaction != third.transaction);
  data = open_data_socket(port, fourth, "@conference/room");
  alice.next();
  bob.next();

  // A frame that is not JSON ends that data socket (1001), and the pipeline attaches again.
  data->send_text("not json");
  CHECK(data->wait_close() == std::optional<uint16_t>(1001));
  const auto fifth = expect_attach(control_a);
  data = open_data_socket(port, fifth, "@conference/room");
  alice.next();
  bob.next();

  // A group outside the pattern stays a mesh: no attach, signals go to the member.
  alice.send(join_request("plain", 2));
  const auto plain = alice.next_json();
  CHECK_FALSE(plain["data"].HasMember("pipeline"));
  bob.send(join_request("plain", 2));
  const auto bob_plain_hash = str(bob.next_json(), "hash");
  alice.until_pong();
  bob.send(R"({"type":"webrtc","subtype":"webrtc_signal","id":9,"target":"alice","group":"plain","state":"gs",)"
           R"("channel":"@plain","hash":")" + bob_plain_hash + R"(","v":20180703,"data":{"mesh":true}})");
  CHECK(parse_json(alice.next())["data"]["mesh"].GetBool());

  // Everyone leaves: the channel is swept and detached on a control socket.
  alice.ws.reset();
  bob.ws.reset();
  // Round-robin: after the fifth attach (on a) the detach goes to b.
  const auto detach = control_b.next_text();
  REQUIRE(detach.has_value());
  CHECK(*detach == R"({"type":"detach","transaction":"","plugin":"kwm.rtm.channel","handle_id":1})");
  CHECK(data->wait_close().has_value());  // the data socket is closed with the pipeline
}
