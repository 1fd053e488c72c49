#pragma once
// The few fields of a server frame that the load generator acts on, read with a real JSON
// parser so that any layout works (the original server pretty-prints with tabs, ours writes
// compact JSON, key order differs between them).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kwm::bench {

enum class frame_kind {
  other,
  hello,
  pong,
  webrtc_call,
  webrtc_channel,
  webrtc_signal,
  webrtc_hangup,
  chats_message,
  chats_system,
  error,
  goodbye,
};

// The bench's own chat text, "s=<sender index> n=<sequence> t=<send time in ns>", so that
// a delivery can be matched to the message it completes.
struct chat_stamp {
  bool present = false;
  uint32_t sender = 0;
  uint64_t sequence = 0;
  uint64_t sent_ns = 0;
};

struct frame_fields {
  bool valid = false;  // the text was one well-formed JSON object
  frame_kind kind = frame_kind::other;
  bool has_reply_to = false;
  uint64_t reply_to = 0;
  uint64_t t = 0;                 // top level "t" (ping, echoed in pong)
  uint64_t data_t = 0;            // "data": {"t": …} (relayed signals)
  bool accept = false;            // "data": {"accept": true} (call answers)
  std::size_t group_members = 0;  // length of "data": {"group": {"members": […]}}
  chat_stamp stamp;               // "data": {"text": "s=… n=… t=…"}
  std::string channel;
  std::string hash;
};

// Appends `value` in decimal (for building frames without allocating).
void append_decimal(std::string& out, uint64_t value);

void append_chat_stamp(std::string& out, uint32_t sender, uint64_t sequence, uint64_t sent_ns);
chat_stamp parse_chat_stamp(std::string_view text);

// Reads `text` into `out` (reusing its strings' capacity). RapidJSON's SAX reader in its
// iterative mode with numbers kept as text: no recursion and no number conversion, so a
// hostile or broken server cannot crash the client. Returns out.valid.
class frame_scanner {
 public:
  frame_scanner();
  ~frame_scanner();
  frame_scanner(const frame_scanner&) = delete;
  frame_scanner& operator=(const frame_scanner&) = delete;

  bool scan(std::string_view text, frame_fields& out);

 private:
  struct reader_state;
  std::unique_ptr<reader_state> state_;
};

}  // namespace kwm::bench
