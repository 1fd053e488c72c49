#include "protocol/fanout_bound.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "protocol/chats_output.hpp"
#include "protocol/chats_rules.hpp"
#include "protocol/random.hpp"
#include "protocol/webrtc_output.hpp"

namespace kwm::protocol {
namespace {

// A client string of `bytes` bytes that JSON output makes as long as possible.
std::string worst(std::size_t bytes) {
  return std::string(bytes, '\x01');
}

constexpr uint64_t widest_number = std::numeric_limits<uint64_t>::max();
const std::string hash_sized(44, 'h');  // base64 of a SHA-256

// A signal, answer or hangup relayed to a member, or a call to every device of the callee;
// into a pipeline the sender's id is kept.
std::size_t relayed_webrtc(std::size_t field, std::size_t user, std::size_t data) {
  webrtc_message message;
  message.id = widest_number;
  message.subtype = "webrtc_signal";
  message.initiator = true;
  for (std::string* text : {&message.target, &message.state, &message.channel, &message.group,
                            &message.hash, &message.transaction, &message.pcid})
    *text = worst(field);
  message.v = widest_number;
  message.data.presence = json_presence::value;
  message.data.type = rapidjson::kStringType;
  message.data.text = std::string(data, 'd');  // already serialised: written as it is
  const auto source = worst(user), name = worst(user);
  return render_forwarded(message, {source, std::string_view(name), std::nullopt, true}).size();
}

// The join reply (with every member) and the update to every other member; linear in the
// number of members, so it is rendered for one and two and extrapolated.
std::size_t member_list(std::size_t field, std::size_t user, std::size_t members) {
  const auto group = worst(field);
  const auto channel = "@" + group;
  auto render = [&](std::size_t count) {
    channel_extra extra;
    extra.group = group_extra{group, std::vector<std::string>(count, worst(user)), true};
    extra.pipeline = pipeline_extra{channel};
    return render_channel_message(widest_number, channel, hash_sized, extra).size();
  };
  const std::size_t one = render(1), two = render(2);
  return one + (members - 1) * (two - one);
}

// A chat message to every other member (text and richText at their §3.16 limits).
std::size_t chat_message(std::size_t field, std::size_t user) {
  chat_data data;
  data.sender = worst(user);
  data.ts = std::numeric_limits<int64_t>::min();
  data.text = worst(chat_text_limit);
  data.rich_text = worst(chat_rich_text_limit);
  data.id = random_string(message_id_bytes);
  const auto name = worst(user);
  return render_chats("chats_message", "@" + worst(field), std::string_view(name), data).size();
}

}  // namespace

std::optional<fanout_frame> largest_fanout_frame(const field_limits& limits,
                                                 std::size_t max_group_members,
                                                 std::size_t max_input_bytes) {
  if (limits.user_bytes == 0 || limits.field_bytes == 0 || limits.data_bytes == 0 ||
      max_group_members == 0)
    return std::nullopt;
  const auto field = std::min(limits.field_bytes, max_input_bytes);
  const auto user = std::min(limits.user_bytes, max_input_bytes);
  const auto data = std::min(limits.data_bytes, max_input_bytes);
  const fanout_frame frames[] = {
      {"relayed webrtc message", relayed_webrtc(field, user, data)},
      {"group member list", member_list(field, user, max_group_members)},
      {"chat message", chat_message(field, user)},
  };
  return *std::max_element(std::begin(frames), std::end(frames),
                           [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
}

}  // namespace kwm::protocol
