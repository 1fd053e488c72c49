#pragma once
// One WebSocket connection after its upgrade request: the application's decision, the 101
// response, reading and writing RFC 6455 frames, keepalive, limits and the close handshake.
//
// Everything of a session runs on its home io thread (one io_context per thread, so no
// strand is needed). The protocol logic here is the same for every transport; the members
// that touch the socket (open_transport, arm_read, flush, hard_close and their helpers) are
// specialised per transport:
//   plain (websocket_session.cpp): the socket is read when it is readable, into a buffer
//     shared by all sessions of the thread, and writes gather every queued frame into one
//     non-blocking writev, issued after the handlers that produced them;
//   TLS (tls_websocket_session.cpp): asynchronous reads and writes on the ssl stream, one
//     of each outstanding at a time, since OpenSSL's state must not be driven behind Asio's
//     back.
// Frames from other threads are batched per thread: one wake-up per burst, not per frame.
#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "net/detail/session_base.hpp"
#include "net/detail/websocket_hub.hpp"
#include "net/io_pool.hpp"
#include "net/websocket_frames.hpp"
#include "net/websocket_handshake.hpp"
#include "protocol/json_check.hpp"

namespace kwm::net {

namespace detail {

// A buffer sequence over part of an array, for one gathered write.
struct buffer_span {
  const asio::const_buffer* first;
  const asio::const_buffer* last;
  const asio::const_buffer* begin() const { return first; }
  const asio::const_buffer* end() const { return last; }
};

// One entry of the outgoing queue: a text frame (header added when written) or bytes that
// are already on the wire format (the 101 response, control frames).
struct out_item {
  frame bytes;
  bool raw = false;
  uint64_t replaces = 0;  // see frame_sink::send_replacing
};

inline frame encode_control(ws::opcode op, std::string_view payload) {
  unsigned char header[10];
  const std::size_t header_size = ws::encode_header(op, payload.size(), header);
  std::string wire(reinterpret_cast<const char*>(header), header_size);
  wire.append(payload);
  return make_frame(std::move(wire));
}

}  // namespace detail

template <class Transport>
class websocket_session final : public session_base,
                                public websocket_hub_member,
                                public pending_websocket,
                                public std::enable_shared_from_this<websocket_session<Transport>> {
  using clock = ws_clock;

 public:
  using socket_type = typename Transport::socket;

  websocket_session(std::shared_ptr<server_state> state, connection_slot slot, socket_type socket,
                    std::string early_input, http::request<http::string_body> upgrade, http_request request,
                    std::size_t home)
      : state_(std::move(state)),
        hub_(*state_->websockets),
        slot_(std::move(slot)),
        socket_(std::move(socket)),
        home_(home),
        reader_(state_->config.websocket.max_message_bytes),
        input_(std::move(early_input)),
        pending_(std::make_unique<pending_upgrade>(pending_upgrade{upgrade.version(), std::move(request)})),
        decision_deadline_(clock::now() + limits().handshake_timeout) {}

  ~websocket_session() override {
    state_->untrack(this);
    if (counted_) state_->open_websockets.fetch_sub(1, std::memory_order_relaxed);
    if (listener_) listener_->on_closed();
  }

  void start(const route& matched, std::string parameter) {
    sink_ = std::make_shared<session_sink>(this->weak_from_this(), home_, &hub_);
    state_->track(this->shared_from_this(), socket_.get_executor());
    // Waiting for the application's decision also has a deadline.
    self_ = this->shared_from_this();
    hub_.add(home_, self_);
    if (state_->stopping.load()) close_started_ = true;
    matched.on_websocket(this->shared_from_this(), std::move(parameter));
  }

  // -- pending_websocket (any thread) --

  // Valid until accept or reject.
  const http_request& request() const override { return pending_->plain; }
  std::shared_ptr<frame_sink> sink() override { return sink_; }

  void reject(http_response response) override {
    post([r = std::move(response)](websocket_session& s) mutable { s.do_reject(std::move(r)); });
  }

  void accept(std::unique_ptr<frame_listener> listener, websocket_options options) override {
    post([l = std::move(listener), o = std::move(options)](websocket_session& s) mutable {
      s.do_accept(std::move(l), std::move(o));
    });
  }

  // -- session_base (home thread) --

  void shutdown() override { close_from_server(close_code::going_away, {}); }
  void terminate() override {
    hard_close();
    finish();
  }

  // -- frame_sink (home thread, or posted there) --

  void enqueue(frame text, uint64_t replaces) override {
    if (close_started_ || phase_ == phase::done) return;
    if (replaces != 0) drop_unsent(replaces);
    const std::size_t size = text->size();
    if (queued_texts_ + 1 > limits().send_queue_messages || queued_bytes_ + size > limits().send_queue_bytes)
      return slow_consumer();
#ifdef KWM_CHECK_OUTPUT
    protocol::require_valid_json_output("WebSocket frame", *text);  // D19, in the test build
#endif
    count_queued(size);
    out_.push_back({std::move(text), false, replaces});
    schedule_flush();
  }

  // Removes the unsent frame queued with this key, if any (there is at most one). A frame
  // partly written (or, over TLS, copied into the write buffer) counts as sent.
  void drop_unsent(uint64_t replaces) {
    const std::size_t first_unsent = out_head_ + (head_written_ > 0 ? 1 : 0);
    for (std::size_t i = out_.size(); i-- > first_unsent;) {
      if (out_[i].replaces != replaces) continue;
      queued_texts_ -= 1;
      queued_bytes_ -= out_[i].bytes->size();
      out_.erase(out_.begin() + static_cast<std::ptrdiff_t>(i));
      if (pending_pong_ != npos && pending_pong_ > i) --pending_pong_;
      return;
    }
  }

  void post_close(close_code code, std::string reason) override {
    post([code, r = std::move(reason)](websocket_session& s) mutable { s.close_from_server(code, std::move(r)); });
  }

  // Any thread: a frame handed to the listener was processed (D20 flow control).
  void frame_processed(std::size_t bytes) {
    // Sequentially consistent with consume(): either it sees these counts or we see its pause.
    inflight_frames_.fetch_sub(1);
    inflight_bytes_.fetch_sub(bytes);
    if (paused_.load() && below_resume_mark() && !resume_posted_.exchange(true))
      post([](websocket_session& s) { s.resume_reading(); });
  }

  // Home thread, from the ticker: every deadline of this session.
  void on_tick(clock::time_point now) override {
    switch (phase_) {
      case phase::pending:
        if (now >= decision_deadline_) terminate();
        return;
      case phase::open:
        if (now >= read_deadline_) return close_from_server(close_code::going_away, {});
        if (message_started_ != clock::time_point{} && now >= message_started_ + limits().message_timeout &&
            limits().message_timeout.count() > 0)
          return close_from_server(close_code::policy_violation, "message timeout");
        if (now >= next_ping_) {
          send_ping();
          next_ping_ = now + limits().ping_period;
        }
        if (frame_throttled() && now >= frame_resume_at_) {
          frame_resume_at_ = {};
          resume_reading();
        }
        break;
      case phase::closing:
        if (now >= close_deadline_) return terminate();
        break;
      case phase::done:
        return;
    }
    if (write_blocked_since_ != clock::time_point{} && now >= write_blocked_since_ + limits().write_wait)
      terminate();
  }

  // -- frame_reader events --

  bool on_text(std::string_view payload) {
    if (phase_ != phase::open || !listener_) return true;
    if (acknowledges_frames_) {
      inflight_frames_.fetch_add(1);
      inflight_bytes_.fetch_add(payload.size());
    }
    listener_->on_text(std::string(payload));
    return !over_inflight_mark();
  }

  // Binary payloads are not kept (they are ignored); they count as frames in flight.
  bool on_binary(std::size_t size) {
    if (phase_ != phase::open || !listener_) return true;
    if (acknowledges_frames_) inflight_frames_.fetch_add(1);
    listener_->on_binary(size);
    return !over_inflight_mark();
  }

  bool on_ping(std::string_view payload) {
    if (phase_ != phase::open) return true;
    // Only the newest ping needs its pong (RFC 6455 §5.5.3): one pending pong at most.
    if (pending_pong_ != npos && pending_pong_ >= out_head_ + (head_written_ > 0 ? 1 : 0)) {
      out_[pending_pong_].bytes = detail::encode_control(ws::opcode::pong, payload);
    } else {
      pending_pong_ = insert_control(detail::encode_control(ws::opcode::pong, payload));
    }
    schedule_flush();
    return frame_budget_left();
  }

  bool on_pong(std::string_view payload) {
    if (ping_counter_ > 0 && payload.size() == sizeof ping_payload_ &&
        std::memcmp(payload.data(), ping_payload_, sizeof ping_payload_) == 0)
      read_deadline_ = clock::now() + limits().pong_wait;
    return frame_budget_left();
  }

  bool on_fragment() {
    return frame_budget_left();
  }

  // Frames that do not end a message (pings, pongs, fragments; empty ones too) never reach
  // the actor's rate limit, which counts messages and bytes: a budget of their own (D20), so
  // that a flood of them costs no more than a trickle. When it is spent, reading pauses until
  // the budget has refilled by one frame (TCP pushes back meanwhile).
  bool frame_budget_left() {
    const double rate = static_cast<double>(limits().frames_per_second);
    if (rate == 0) return true;
    const auto now = clock::now();
    const std::chrono::duration<double> elapsed = now - frame_refilled_;
    frame_refilled_ = now;
    frame_tokens_ = std::min(rate, frame_tokens_ + elapsed.count() * rate) - 1;
    if (frame_tokens_ >= 0) return true;
    frame_resume_at_ = now + std::chrono::duration_cast<clock::duration>(
                                 std::chrono::duration<double>(-frame_tokens_ / rate));
    return false;
  }

  bool frame_throttled() const {
    return frame_resume_at_ != clock::time_point{};
  }

  void on_close(uint16_t code, std::string_view) {
    peer_closed_ = true;
    // The peer is leaving: the application learns it now, not when TCP ends (D21).
    notify_closed();
    if (close_frame_queued_) {
      // Our own close frame is out or on its way: the handshake is complete.
      if (close_frame_sent_) terminate();
      return;
    }
    // Reply with a close frame of the same code (none for none); nothing more after it.
    discard_unsent();
    close_started_ = true;
    phase_ = phase::closing;
    close_deadline_ = clock::now() + limits().write_wait;
    std::string payload;
    if (code != 0) payload = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    queue_close_frame(detail::encode_control(ws::opcode::close, payload));
  }

  void on_error(ws::read_error error) {
    release_unfinished();
    close_from_server(static_cast<close_code>(ws::close_code_of(error)), {});
  }

 private:
  enum class phase { pending, open, closing, done };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_buffers_per_write = 64;  // Asio's gather limit

  struct pending_upgrade {
    unsigned http_version;
    http_request plain;
  };

  class session_sink final : public frame_sink {
   public:
    session_sink(std::weak_ptr<websocket_session> session, std::size_t home, websocket_hub* hub)
        : session_(std::move(session)), home_(home), hub_(hub) {}
    void send(frame text) override { send_replacing(std::move(text), 0); }
    void send_replacing(frame text, uint64_t key) override {
      auto session = session_.lock();
      if (!session) return;
      if (io_pool::current_index() == home_)
        session->enqueue(std::move(text), key);
      else
        hub_->deliver(home_, std::move(session), std::move(text), key);
    }
    void close(close_code code, std::string reason) override {
      if (auto s = session_.lock()) s->post_close(code, std::move(reason));
    }
    void frame_processed(std::size_t bytes) override {
      if (auto s = session_.lock()) s->frame_processed(bytes);
    }

   private:
    std::weak_ptr<websocket_session> session_;
    std::size_t home_;
    websocket_hub* hub_;
  };

  const websocket_limits& limits() const { return state_->config.websocket; }

  template <class Action>
  void post(Action action) {
    asio::post(socket_.get_executor(), [self = this->shared_from_this(), action = std::move(action)]() mutable {
      action(*self);
    });
  }

  // -- the upgrade decision --

  void do_reject(http_response plain) {
    if (phase_ != phase::pending) return;
    write_plain_response(std::move(plain));
  }

  // A plain HTTP answer instead of the upgrade; the connection ends after it.
  void write_plain_response(http_response plain) {
    std::string head = "HTTP/1.1 " + std::to_string(plain.status) + " " + std::string(status_text(plain.status)) + "\r\n";
    for (const auto& [name, value] : plain.headers) head += name + ": " + value + "\r\n";
    head += "Content-Length: " + std::to_string(plain.body.size()) + "\r\nConnection: close\r\n\r\n";
    head += plain.body;
    out_.clear();
    out_head_ = 0;
    queued_texts_ = queued_bytes_ = 0;
    start_phase_closing_plain(make_frame(std::move(head)));
  }

  void start_phase_closing_plain(frame response) {
    pending_.reset();
    phase_ = phase::closing;
    close_started_ = close_frame_queued_ = true;
    close_deadline_ = clock::now() + limits().write_wait;
    out_.push_back({std::move(response), true});
    plain_close_ = true;
    schedule_flush();
  }

  void do_accept(std::unique_ptr<frame_listener> listener, websocket_options options) {
    listener_ = std::move(listener);
    if (phase_ != phase::pending) return finish();
    farewell_ = std::move(options.farewell);
    acknowledges_frames_ = options.acknowledges_frames;
    const auto accept_key = websocket_accept_key(pending_->plain, pending_->http_version);
    if (!accept_key) {
      auto plain = http_response::text_error(400, "Bad Request");
      plain.headers.emplace_back("Sec-Websocket-Version", "13");
      return write_plain_response(std::move(plain));
    }
    pending_.reset();  // nothing of the HTTP request is needed any more
    // The 101 response goes out first, then whatever the application queued meanwhile.
    out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(out_head_),
                detail::out_item{make_frame(websocket_accept_response(*accept_key, options.subprotocol)), true});
    phase_ = phase::open;
    counted_ = true;
    state_->open_websockets.fetch_add(1, std::memory_order_relaxed);
    const auto now = clock::now();
    read_deadline_ = now + limits().pong_wait;
    next_ping_ = now + limits().ping_period;
    open_transport();
    schedule_flush();
    if (close_started_) {
      close_started_ = false;
      return close_from_server(close_code::going_away, {});
    }
    // Frames that came with the upgrade request are read first.
    if (!input_.empty()) {
      std::string early = std::move(input_);
      input_.clear();
      if (!consume(early.data(), early.size())) return;
    }
    arm_read();
  }

  // -- the transport: specialised per transport (see the top of this file) --

  // Once the upgrade is accepted, before the first write.
  void open_transport();
  // Reads (and consume()s) until paused, closing or done; at most one read outstanding.
  void arm_read();
  // Writes the queue from out_head_ on; sets write_waiting_ while a write cannot finish now.
  void flush();
  // Closes the socket at once; outstanding operations end with an error.
  void hard_close();
  // Plain only: reads what the readable socket holds; waits until it takes more writes.
  void read_ready();
  void wait_writable();
  // TLS only: completion of a read or of a write.
  void on_read(const beast::error_code& ec, std::size_t bytes);
  void on_written(const beast::error_code& ec);

  // -- reading --

  // Parses `data` (unmasking in place). Returns false when reading must not go on now:
  // paused by flow control (the rest is kept), or the session is closing or done.
  bool consume(char* data, std::size_t size) {
    if (reader_.finished()) return phase_ != phase::done;  // closing: the rest is discarded
    const std::size_t used = reader_.feed(data, size, *this);
    if (phase_ == phase::done) return false;
    if ((used < size || frame_throttled()) && !reader_.finished()) {
      input_.assign(data + used, size - used);
      paused_.store(true);
      // The actor may have caught up meanwhile; never miss the wake-up. (A spent frame
      // budget is resumed by the ticker.)
      if (!frame_throttled() && below_resume_mark() && !resume_posted_.exchange(true))
        post([](websocket_session& s) { s.resume_reading(); });
    }
    track_unfinished();
    return !paused_.load(std::memory_order_relaxed) && !reader_.finished();
  }

  void resume_reading() {
    resume_posted_.store(false);
    if (!paused_.load() || phase_ == phase::done) return;
    if (!below_resume_mark()) return;  // the next frame_processed posts again
    if (frame_throttled()) return;     // the ticker resumes it
    paused_.store(false);
    std::string kept = std::move(input_);
    input_.clear();
    if (!kept.empty() && !consume(kept.data(), kept.size())) return;
    arm_read();
  }

  bool over_inflight_mark() const {
    const auto& l = limits();
    return (l.max_inflight_frames != 0 && inflight_frames_.load(std::memory_order_relaxed) >= l.max_inflight_frames) ||
           (l.max_inflight_bytes != 0 && inflight_bytes_.load(std::memory_order_relaxed) >= l.max_inflight_bytes);
  }

  bool below_resume_mark() const {
    const auto& l = limits();
    return inflight_frames_.load() <= l.max_inflight_frames / 2 && inflight_bytes_.load() <= l.max_inflight_bytes / 2;
  }

  // The message deadline and the server-wide budget for unfinished messages (D20).
  void track_unfinished() {
    // The deadline counts from the unfinished message's start: a new one when a message
    // ended in this read, even if the next began in it too (back-to-back fragmented messages).
    if (reader_.in_message()) {
      if (message_started_ == clock::time_point{} ||
          reader_.completed_messages() != messages_at_start_)
        message_started_ = clock::now();
      messages_at_start_ = reader_.completed_messages();
    } else {
      message_started_ = {};
    }
    const std::size_t held = reader_.held_bytes() + input_.size();
    if (held == reported_unfinished_) return;
    reported_unfinished_ = held;
    // Small holdings are not worth the lock; they are bounded by the connection count.
    const std::size_t counted = held >= 4096 ? held : 0;
    if (counted == counted_unfinished_) return;
    counted_unfinished_ = counted;
    for (auto& victim : hub_.budget.report(this, this->weak_from_this(), counted))
      if (auto session = victim.lock()) session->post_close(close_code::policy_violation, "server busy");
  }

  void release_unfinished() {
    reader_.abandon();
    std::string().swap(input_);
    track_unfinished();
  }

  void connection_lost() {
    hard_close();
    finish();
  }

  // -- writing --

  std::size_t insert_control(frame bytes) {
    // After a frame that is partly written, before everything else.
    const std::size_t at = out_head_ + (head_written_ > 0 ? 1 : 0);
    out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(at), detail::out_item{std::move(bytes), true});
    if (pending_pong_ != npos && pending_pong_ >= at) ++pending_pong_;
    return at;
  }

  void schedule_flush() {
    if (flush_posted_ || write_waiting_ || phase_ == phase::pending || phase_ == phase::done) return;
    flush_posted_ = true;
    post([](websocket_session& s) {
      s.flush_posted_ = false;
      s.flush();
    });
  }

  using gathered_buffers = std::array<asio::const_buffer, max_buffers_per_write>;
  using gathered_headers = std::array<std::array<unsigned char, 10>, max_buffers_per_write / 2>;

  // The queue from the first unwritten byte on as buffers (frame headers encoded into
  // `headers`), for one gathered write; returns how many buffers were filled.
  std::size_t gather(gathered_buffers& buffers, gathered_headers& headers) const {
    std::size_t count = 0;
    std::size_t skip = head_written_;
    for (std::size_t i = out_head_; i < out_.size() && count + 2 <= max_buffers_per_write; ++i) {
      const auto& item = out_[i];
      if (item.raw) {
        buffers[count++] = asio::buffer(item.bytes->data() + skip, item.bytes->size() - skip);
      } else {
        auto& header = headers[count / 2];
        const std::size_t header_size = ws::encode_header(ws::opcode::text, item.bytes->size(), header.data());
        if (skip < header_size) buffers[count++] = asio::buffer(header.data() + skip, header_size - skip);
        const std::size_t payload_skip = skip > header_size ? skip - header_size : 0;
        buffers[count++] = asio::buffer(item.bytes->data() + payload_skip, item.bytes->size() - payload_skip);
      }
      skip = 0;
    }
    return count;
  }

  // Everything queued is out: the queue is reset, and a close frame among it is sent.
  void on_queue_written() {
    out_.clear();
    out_head_ = 0;
    pending_pong_ = npos;
    if (close_frame_queued_ && !close_frame_sent_) on_close_frame_written();
  }

  // Pops what `written` bytes completed; false when the socket took only part.
  bool account_written(std::size_t written) {
    while (written > 0 && out_head_ < out_.size()) {
      auto& item = out_[out_head_];
      const std::size_t size = item.raw ? item.bytes->size() : wire_size(item.bytes->size());
      const std::size_t left = size - head_written_;
      if (written < left) {
        head_written_ += written;
        return false;
      }
      written -= left;
      head_written_ = 0;
      if (!item.raw) {
        queued_texts_ -= 1;
        queued_bytes_ -= item.bytes->size();
      }
      if (pending_pong_ == out_head_) pending_pong_ = npos;
      item.bytes.reset();
      ++out_head_;
    }
    if (out_head_ >= 64 && out_head_ * 2 >= out_.size()) {
      out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_head_));
      if (pending_pong_ != npos) pending_pong_ -= out_head_;
      out_head_ = 0;
    }
    return out_head_ >= out_.size() || head_written_ == 0;
  }

  static std::size_t wire_size(std::size_t payload) {
    return payload + (payload < 126 ? 2 : payload <= 0xFFFF ? 4 : 10);
  }

  // D13: discard everything queued (except a frame partly written), then close.
  void slow_consumer() {
    discard_unsent();
    close_from_server(close_code::policy_violation, "slow consumer");
  }

  // Drops every text frame not yet begun; the 101 response and a partly written frame stay.
  void discard_unsent() {
    const std::size_t keep = out_head_ + (head_written_ > 0 ? 1 : 0);
    std::vector<detail::out_item> kept(std::make_move_iterator(out_.begin() + static_cast<std::ptrdiff_t>(out_head_)),
                               std::make_move_iterator(out_.begin() + static_cast<std::ptrdiff_t>(keep)));
    for (std::size_t i = keep; i < out_.size(); ++i)
      if (out_[i].raw && !is_ping_or_pong(i)) kept.push_back(std::move(out_[i]));
    out_ = std::move(kept);
    out_head_ = 0;
    pending_pong_ = npos;
    queued_texts_ = queued_bytes_ = 0;
    for (const auto& item : out_)
      if (!item.raw) count_queued(item.bytes->size());
  }

  void count_queued(std::size_t size) {
    queued_texts_ += 1;
    queued_bytes_ += size;
  }

  // Pongs and pings need not survive a close; the 101 response must.
  bool is_ping_or_pong(std::size_t index) const {
    const auto& bytes = *out_[index].bytes;
    return !bytes.empty() && (static_cast<unsigned char>(bytes[0]) == 0x8A || static_cast<unsigned char>(bytes[0]) == 0x89);
  }

  // -- closing --

  void close_from_server(close_code code, std::string reason) {
    if (close_started_ || phase_ == phase::done) return;
    close_started_ = true;
    if (phase_ != phase::open) return;  // pending: closed right after the upgrade
    phase_ = phase::closing;
    close_deadline_ = clock::now() + limits().write_wait + limits().close_wait;
    // D6: the farewell after everything queued, bypassing the queue bounds, then the close.
    if (farewell_) {
      count_queued(farewell_->size());
      out_.push_back({farewell_, false});
    }
    std::string payload{static_cast<char>(static_cast<uint16_t>(code) >> 8),
                        static_cast<char>(static_cast<uint16_t>(code) & 0xFF)};
    payload += reason.substr(0, 123);
    queue_close_frame(detail::encode_control(ws::opcode::close, payload));
  }

  void queue_close_frame(frame close_frame) {
    close_frame_queued_ = true;
    out_.push_back({std::move(close_frame), true});
    schedule_flush();
  }

  void on_close_frame_written() {
    close_frame_sent_ = true;
    if (plain_close_ || peer_closed_) return terminate();
    // The peer gets the close wait to answer with its close frame or to end TCP; what it
    // sends meanwhile is read and dropped, so that our close frame is not lost to a reset.
    close_deadline_ = std::min(close_deadline_, clock::now() + limits().close_wait);
    if (!paused_.load()) arm_read();
  }

  void send_ping() {
    ++ping_counter_;
    for (std::size_t i = 0; i < sizeof ping_payload_; ++i)
      ping_payload_[i] = static_cast<char>(ping_counter_ >> (8 * i) & 0xFF);
    insert_control(detail::encode_control(ws::opcode::ping, std::string_view(ping_payload_, sizeof ping_payload_)));
    schedule_flush();
  }

  void notify_closed() {
    if (!listener_) return;
    auto listener = std::move(listener_);
    listener->on_closed();
  }

  void finish() {
    if (phase_ == phase::done) return;
    phase_ = phase::done;
    hub_.remove(home_, this);
    release_unfinished();
    state_->untrack(this);
    out_.clear();
    notify_closed();
    auto keep_alive_until_return = std::move(self_);
  }

  static std::string_view status_text(unsigned status) {
    switch (status) {
      case 400: return "Bad Request";
      case 401: return "Unauthorized";
      case 403: return "Forbidden";
      case 404: return "Not Found";
      case 405: return "Method Not Allowed";
      case 429: return "Too Many Requests";
      case 500: return "Internal Server Error";
      case 503: return "Service Unavailable";
      default: return "Error";
    }
  }

  std::shared_ptr<server_state> state_;
  websocket_hub& hub_;
  connection_slot slot_;
  socket_type socket_;
  // What the transport needs besides the socket (nothing for plain sockets).
  [[no_unique_address]] typename Transport::websocket_state transport_state_;
  std::size_t home_;
  ws::frame_reader reader_;
  std::string input_;  // read but not parsed yet: early frames, or what a pause left over
  std::unique_ptr<pending_upgrade> pending_;
  std::shared_ptr<session_sink> sink_;
  std::unique_ptr<frame_listener> listener_;
  std::shared_ptr<websocket_session> self_;  // the session lives until finish()
  frame farewell_;
  std::vector<detail::out_item> out_;
  std::size_t out_head_ = 0;
  std::size_t head_written_ = 0;  // bytes of out_[out_head_] already written
  std::size_t pending_pong_ = npos;
  std::size_t queued_texts_ = 0;
  std::size_t queued_bytes_ = 0;
  std::atomic<std::size_t> inflight_frames_{0};
  std::atomic<std::size_t> inflight_bytes_{0};
  std::atomic<bool> paused_{false};
  std::atomic<bool> resume_posted_{false};
  std::size_t reported_unfinished_ = 0;
  std::size_t counted_unfinished_ = 0;
  clock::time_point decision_deadline_;
  clock::time_point read_deadline_{};
  clock::time_point next_ping_{};
  clock::time_point message_started_{};
  uint64_t messages_at_start_ = 0;  // completed messages when message_started_ was set
  clock::time_point write_blocked_since_{};
  clock::time_point close_deadline_{};
  // The frame budget: tokens (negative while reading waits for the refill), when
  // they were last refilled, and when reading goes on (the epoch while not throttled).
  double frame_tokens_ = static_cast<double>(limits().frames_per_second);
  clock::time_point frame_refilled_ = clock::now();
  clock::time_point frame_resume_at_{};
  uint64_t ping_counter_ = 0;
  char ping_payload_[8] = {};
  phase phase_ = phase::pending;
  bool counted_ = false;
  bool read_armed_ = false;
  bool write_waiting_ = false;
  bool flush_posted_ = false;
  bool close_started_ = false;
  bool close_frame_queued_ = false;
  bool close_frame_sent_ = false;
  bool peer_closed_ = false;
  bool plain_close_ = false;
  bool acknowledges_frames_ = false;
};

template <class Transport>
void start_websocket_session(std::shared_ptr<server_state> state, connection_slot slot,
                             typename Transport::socket socket, std::string early_input,
                             http::request<http::string_body> request, http_request plain_request,
                             const route& matched, std::string parameter) {
  const std::size_t home = io_pool::current_index();
  auto session = std::make_shared<websocket_session<Transport>>(std::move(state), std::move(slot), std::move(socket),
                                                                std::move(early_input), std::move(request),
                                                                std::move(plain_request), home);
  session->start(matched, std::move(parameter));
}

}  // namespace kwm::net
