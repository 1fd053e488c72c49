#pragma once
// The two directions of one WebSocket as seen by the application. Nothing here names
// Beast or Asio, so actors and tests can use it without the network stack.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace kwm::net {

// A text frame, serialized once and shared immutably between all its recipients.
using frame = std::shared_ptr<const std::string>;

inline frame make_frame(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

enum class close_code : uint16_t {
  going_away = 1001,
  protocol_error = 1002,
  invalid_payload = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
};

// Outbound side. Safe to call from any thread; calls never block.
class frame_sink {
 public:
  virtual ~frame_sink() = default;
  // Queues a text frame. When the outgoing queue would exceed its bounds the connection
  // is closed as a slow consumer (1008) instead: nothing is ever dropped silently.
  virtual void send(frame text) = 0;
  // Queues a text frame that makes an earlier one sent with the same nonzero `key` obsolete:
  // if that one is still waiting in the queue (not begun), it is removed, and this one goes
  // to the end like any other frame. For snapshots of which only the newest matters (a
  // group's member list): a slow reader gets the latest, not every one in between. Sinks
  // that cannot replace simply send.
  virtual void send_replacing(frame text, uint64_t /*key*/) { send(std::move(text)); }
  // Server-initiated close: the farewell frame (if the socket has one), then the close
  // frame. Frames queued before the call are written first.
  virtual void close(close_code code, std::string reason = {}) = 0;
  // Input flow control (D20): the receiver of a frame handed to frame_listener::on_text or
  // on_binary calls this once it has processed that frame. While too many frames or bytes
  // are unprocessed, the socket is not read (TCP back-pressure). `bytes` is the size of the
  // text (0 for a binary frame). Safe from any thread.
  virtual void frame_processed(std::size_t /*bytes*/) {}
};

// Inbound side. Called on the connection's io thread, in arrival order.
class frame_listener {
 public:
  virtual ~frame_listener() = default;
  virtual void on_text(std::string text) = 0;
  virtual void on_binary(std::size_t /*size*/) {}
  // Exactly once, when the socket is gone (closed by either side or failed).
  virtual void on_closed() = 0;
};

// Per-socket settings chosen by the application when it accepts an upgrade.
struct websocket_options {
  frame farewell;           // written before every server-initiated close; may be null
  std::string subprotocol;  // selected in the handshake response when non-empty
  // The listener's receiver calls frame_sink::frame_processed for every frame it gets, so
  // the session can apply input flow control (D20). Without it frames count as processed
  // once handed over.
  bool acknowledges_frames = false;
};

}  // namespace kwm::net
