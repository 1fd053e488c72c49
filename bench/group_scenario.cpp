// P5 and the fan-out scale: `members` connections join the group channel @bench, `senders`
// of them keep `window` chat messages each in flight. A sender's next message goes out when
// its earlier one has reached every other member, so what is in flight toward each member
// stays bounded (senders × window) and a server is never measured on how much it queues.
#include <algorithm>

#include "bench/report.hpp"
#include "bench/scenario.hpp"

namespace kwm::bench {
namespace {

constexpr const char* join_frame =
    R"({"type":"webrtc","subtype":"webrtc_group","id":1,"target":"bench","group":"bench","state":"s","v":20180703})";

// One message in flight: which sequence number, and how many members have yet to get it.
struct in_flight {
  uint64_t sequence = 0;
  std::size_t remaining = 0;
};

// Every join sends the whole member list to all earlier members (spec §3.14), so joining is
// quadratic; members join one after the other inside the loop, which reads everybody's
// updates meanwhile (unread, they would fill the server's queues), but only the joiner's
// frames are parsed. Then the loop waits until the server has gone quiet.
bool join_all(loop& l, std::vector<std::unique_ptr<peer>>& peers, frame_scanner& scanner,
              frame_fields& fields) {
  std::size_t joined = 0;
  uint64_t closed = 0;
  l.send(*peers[0], join_frame);
  const double timeout = 30 + static_cast<double>(peers.size()) * 0.2;
  const bool all_joined =
      l.run(after_seconds(timeout),
            {.on_text =
                 [&](peer& p, std::string_view text) {
                   if (p.index != joined || !scanner.scan(text, fields)) return;
                   if (fields.kind == frame_kind::webrtc_channel && fields.has_reply_to &&
                       fields.reply_to == 1 && ++joined < peers.size())
                     l.send(*peers[joined], join_frame);
                   if (fields.kind == frame_kind::error)
                     std::fprintf(stderr, "group join refused: %.*s\n",
                                  static_cast<int>(text.size()), text.data());
                 },
             .on_closed = [&](peer&) { ++closed; },
             .done = [&] { return joined == peers.size() || closed > 0; }});
  if (!all_joined || closed > 0) {
    std::fprintf(stderr, "group setup failed: %zu of %zu members joined, %llu connections closed\n",
                 joined, peers.size(), static_cast<unsigned long long>(closed));
    return false;
  }
  const auto quiet = std::chrono::milliseconds(300);
  l.run(after_seconds(timeout),
        {.on_text = [](peer&, std::string_view) {},
         .done = [&] { return clock_type::now() - l.last_frame() > quiet; }});
  return true;
}

}  // namespace

int group(settings& s) {
  if (s.members < 2) {
    std::fprintf(stderr, "the group scenario needs at least 2 members\n");
    return 2;
  }
  const auto members = static_cast<std::size_t>(s.members);
  const auto senders = static_cast<std::size_t>(std::clamp(s.senders, 1, s.members));
  const auto window = static_cast<std::size_t>(std::max(1, s.window));
  std::vector<std::string> users;
  for (std::size_t i = 0; i < members; ++i)
    users.push_back("m" + std::to_string(i));  // short: every join lists them all
  auto peers = open_peers(s, users);
  loop l;
  for (std::size_t i = 0; i < members; ++i) {
    peers[i]->index = i;
    l.add(*peers[i]);
  }
  frame_scanner scanner;
  frame_fields fields;
  if (!join_all(l, peers, scanner, fields)) return 1;

  std::vector<std::vector<in_flight>> flights(senders, std::vector<in_flight>(window));
  std::string payload;
  auto send_chat = [&](std::size_t sender, uint64_t sequence) {
    payload.assign(
        R"({"type":"chats","subtype":"chats_message","id":2,"channel":"@bench","v":20201201,"data":{"text":")");
    append_chat_stamp(payload, static_cast<uint32_t>(sender), sequence, now_ns());
    payload += R"("}})";
    flights[sender][sequence % window] = {sequence, members - 1};
    l.send(*peers[sender], payload);
  };
  for (std::size_t sender = 0; sender < senders; ++sender)
    for (std::size_t w = 0; w < window; ++w) send_chat(sender, w);

  latency_histogram latency;
  run_result r{"group", s.members, static_cast<int>(window), "deliveries/s"};
  r.extra = " senders=" + std::to_string(senders);
  return run_measured(l, s, r, latency, [&](peer& p, std::string_view text) {
    // The sender's own echo carries reply_to; the original also tells the sender
    // "delivery_queued" in a chats_system frame. Neither is a delivery.
    if (!scanner.scan(text, fields) || fields.kind != frame_kind::chats_message ||
        fields.has_reply_to || !fields.stamp.present)
      return;
    const auto sender = fields.stamp.sender;
    if (sender >= senders || sender == p.index) return;
    latency.add(now_ns() - fields.stamp.sent_ns);
    ++r.count;
    auto& flight = flights[sender][fields.stamp.sequence % window];
    if (flight.sequence == fields.stamp.sequence && flight.remaining > 0 && --flight.remaining == 0)
      send_chat(sender, fields.stamp.sequence + window);
  });
}

}  // namespace kwm::bench
