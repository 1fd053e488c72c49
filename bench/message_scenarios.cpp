// P1 (ping → pong) and P2 (1:1 relay of webrtc signals through a real call channel): closed
// loops with `window` messages in flight per connection; every answer sends the next one.
#include <algorithm>

#include "bench/report.hpp"
#include "bench/scenario.hpp"

namespace kwm::bench {
namespace {

constexpr const char* call_version = "20180703";

// Sets up a 1:1 call from `caller` to `callee` the way a browser does and leaves both
// peers holding the channel's id and hash.
void establish_call(peer& caller, const std::string& caller_user, peer& callee,
                    const std::string& callee_user, frame_scanner& scanner, frame_fields& fields) {
  send_blocking(caller.connection,
                encode_text_frame(R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" +
                                  callee_user + R"(","initiator":true,"state":"cs","v":)" +
                                  call_version + "}"));
  read_frame_until(
      caller, scanner, fields,
      [](const frame_fields& f) {
        return f.kind == frame_kind::webrtc_channel && f.has_reply_to && f.reply_to == 1;
      },
      "the call's channel");
  caller.channel = fields.channel;
  caller.hash = fields.hash;
  read_frame_until(
      callee, scanner, fields,
      [](const frame_fields& f) { return f.kind == frame_kind::webrtc_call; }, "the call");
  send_blocking(callee.connection,
                encode_text_frame(R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" +
                                  caller_user + R"(","state":"es","channel":")" + caller.channel +
                                  R"(","hash":")" + caller.hash + R"(","v":)" + call_version +
                                  R"(,"data":{"accept":true,"state":"cs"}})"));
  read_frame_until(
      caller, scanner, fields,
      [](const frame_fields& f) { return f.kind == frame_kind::webrtc_call && f.accept; },
      "the answer");
  caller.target = callee_user;
  callee.target = caller_user;
  callee.channel = caller.channel;
  callee.hash = caller.hash;
  caller.state = "cs";
  callee.state = "es";
}

// Every peer keeps `window` messages in flight; each `answer` frame is timed by its `stamp`
// field and answered with the next message from the same peer.
int closed_loop(settings& s, std::vector<std::unique_ptr<peer>>& peers, run_result r,
                frame_kind answer, uint64_t frame_fields::*stamp,
                const std::function<void(loop&, peer&)>& send_next) {
  loop l;
  frame_scanner scanner;
  frame_fields fields;
  latency_histogram latency;
  for (auto& p : peers) {
    l.add(*p);
    for (int w = 0; w < s.window; ++w) send_next(l, *p);
  }
  return run_measured(l, s, r, latency, [&](peer& p, std::string_view text) {
    if (!scanner.scan(text, fields) || fields.kind != answer) return;
    latency.add(now_ns() - fields.*stamp);
    ++r.count;
    send_next(l, p);
  });
}

}  // namespace

int ping(settings& s) {
  std::vector<std::string> users;
  for (int i = 0; i < s.connections; ++i) users.push_back("ping" + std::to_string(i));
  auto peers = open_peers(s, users);
  std::string payload;
  return closed_loop(s, peers, {"ping", s.connections, s.window, "round trips/s"}, frame_kind::pong,
                     &frame_fields::t, [&](loop& l, peer& p) {
                       payload.assign(R"({"type":"ping","t":)");
                       append_decimal(payload, now_ns());
                       payload += '}';
                       l.send(p, payload);
                     });
}

int relay(settings& s) {
  const int pairs = std::max(1, s.connections / 2);
  std::vector<std::string> users;
  for (int i = 0; i < pairs; ++i) {
    users.push_back("caller" + std::to_string(i));
    users.push_back("callee" + std::to_string(i));
  }
  auto peers = open_peers(s, users);
  frame_scanner scanner;
  frame_fields fields;
  for (int i = 0; i < pairs; ++i)
    establish_call(*peers[2 * i], users[2 * i], *peers[2 * i + 1], users[2 * i + 1], scanner,
                   fields);
  std::string payload;
  return closed_loop(s, peers, {"relay", 2 * pairs, s.window, "relayed msgs/s"},
                     frame_kind::webrtc_signal, &frame_fields::data_t, [&](loop& l, peer& p) {
                       payload.assign(R"({"type":"webrtc","subtype":"webrtc_signal","target":")");
                       payload += p.target;
                       payload += R"(","state":")";
                       payload += p.state;
                       payload += R"(","channel":")";
                       payload += p.channel;
                       payload += R"(","hash":")";
                       payload += p.hash;
                       payload += R"(","v":)";
                       payload += call_version;
                       payload += R"(,"data":{"t":)";
                       append_decimal(payload, now_ns());
                       payload += "}}";
                       l.send(p, payload);
                     });
}

}  // namespace kwm::bench
