// The soak scenario: a standing population of connections, paired up; a window of pairs at a
// time runs a whole call life cycle (call, answer, hang up) and then both sides disconnect and
// connect again as new connections. The server's RSS and descriptor count are sampled into a
// table, so leaks show as a rising column.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/scenario.hpp"

namespace kwm::bench {
namespace {

enum class stage { idle, calling, answered, hanging_up, leaving };

struct call_pair {
  stage at = stage::idle;
  bool caller_has_channel = false;
  bool callee_was_called = false;
  std::string channel, hash;
  clock_type::time_point started;
};

class soak_run {
 public:
  explicit soak_run(settings& s) : s_(s) {
    const int pair_count = std::max(1, s.connections / 2);
    for (int i = 0; i < 2 * pair_count; ++i) users_.push_back("soak" + std::to_string(i));
    peers_ = open_peers(s, users_);
    pairs_.resize(static_cast<std::size_t>(pair_count));
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      peers_[i]->index = i;
      loop_.add(*peers_[i]);
    }
  }

  int run() {
    std::printf("| elapsed s | connections | calls done | calls/s | server RSS KiB | server fds | errors |\n");
    std::printf("|-----------|-------------|------------|---------|----------------|------------|--------|\n");
    started_ = clock_type::now();
    sample();
    next_sample_ = started_ + sample_interval();
    loop_.run(after_seconds(s_.duration), {.on_text = [this](peer& p, std::string_view text) { on_text(p, text); },
                                           .on_closed = [this](peer& p) { on_unexpected_close(p); },
                                           .on_tick = [this] { on_tick(); }});
    sample();
    std::printf("\n%llu calls, %llu reconnects, %llu errors (error frames, goodbyes, closes, stuck calls, failed connects)\n",
                static_cast<unsigned long long>(calls_done_), static_cast<unsigned long long>(reconnects_),
                static_cast<unsigned long long>(errors_));
    return errors_ == 0 ? 0 : 1;
  }

 private:
  clock_type::duration sample_interval() const {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s_.sample_every));
  }

  peer& caller(std::size_t pair) { return *peers_[2 * pair]; }
  peer& callee(std::size_t pair) { return *peers_[2 * pair + 1]; }
  const std::string& user(const peer& p) const { return users_[p.index]; }

  void error(const char* what, std::string_view detail) {
    if (++errors_ <= 10) std::fprintf(stderr, "soak: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  }

  void start_call(std::size_t pair) {
    auto& call = pairs_[pair];
    call = call_pair{stage::calling, false, false, {}, {}, clock_type::now()};
    loop_.send(caller(pair), (R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" +
                                               user(callee(pair)) + R"(","initiator":true,"state":"cs","v":20180703})"));
    ++in_flight_;
  }

  void answer_when_ready(std::size_t pair) {
    auto& call = pairs_[pair];
    if (call.at != stage::calling || !call.caller_has_channel || !call.callee_was_called) return;
    call.at = stage::answered;
    loop_.send(callee(pair), (R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" +
                                               user(caller(pair)) + R"(","state":"es","channel":")" + call.channel +
                                               R"(","hash":")" + call.hash +
                                               R"(","v":20180703,"data":{"accept":true,"state":"cs"}})"));
  }

  void hang_up(std::size_t pair) {
    auto& call = pairs_[pair];
    call.at = stage::hanging_up;
    loop_.send(caller(pair), (R"({"type":"webrtc","subtype":"webrtc_hangup","id":2,"target":")" +
                                               user(callee(pair)) + R"(","state":"cs","channel":")" + call.channel +
                                               R"(","hash":")" + call.hash +
                                               R"(","v":20180703,"data":{"accept":false,"reason":"hangup","state":"es"}})"));
  }

  // Both sides leave as a browser tab would (close frame, then the socket) and come back as
  // new connections of the same users. Deferred to the next tick: frame handlers run while
  // the peer's reader is still parsing.
  void leave(std::size_t pair) {
    pairs_[pair].at = stage::leaving;
    leaving_.push_back(pair);
  }

  void reconnect_leaving() {
    for (const auto pair : leaving_) {
      for (peer* p : {&caller(pair), &callee(pair)}) reconnect(*p);
      pairs_[pair].at = stage::idle;
      --in_flight_;
    }
    leaving_.clear();
  }

  void reconnect(peer& p) {
    static const std::string close_frame = [] {
      std::string frame;
      append_frame(frame, 0x8, "\x03\xe8");  // status 1000
      return frame;
    }();
    send_blocking(p.connection, p.pending + close_frame);  // replace() drops what is still queued
    auto target = s_.target;
    target.authorization = authorization_for(s_, user(p));
    auto fresh = open_rtm_socket(target, user(p), p.index);
    if (!fresh.is_open()) error("connect failed", user(p));
    loop_.replace(p, std::move(fresh));
    ++reconnects_;
  }

  void on_text(peer& p, std::string_view text) {
    if (!scanner_.scan(text, fields_)) {
      error("frame that is not a JSON object", text);
      return;
    }
    if (fields_.kind == frame_kind::error || fields_.kind == frame_kind::goodbye) {
      error("unexpected frame", text);
      return;
    }
    const std::size_t pair = p.index / 2;
    const bool is_caller = p.index % 2 == 0;
    auto& call = pairs_[pair];
    if (call.at == stage::idle || call.at == stage::leaving) return;  // hello and other notices
    if (is_caller && fields_.kind == frame_kind::webrtc_channel) {
      call.channel = fields_.channel;
      call.hash = fields_.hash;
      call.caller_has_channel = true;
      answer_when_ready(pair);
    } else if (!is_caller && call.at == stage::calling && fields_.kind == frame_kind::webrtc_call) {
      call.callee_was_called = true;
      answer_when_ready(pair);
    } else if (is_caller && call.at == stage::answered && fields_.kind == frame_kind::webrtc_call && fields_.accept) {
      hang_up(pair);
    } else if (!is_caller && call.at == stage::hanging_up && fields_.kind == frame_kind::webrtc_hangup) {
      ++calls_done_;
      leave(pair);
    }
  }

  void on_unexpected_close(peer& p) {
    error("server closed a connection of", user(p));
    auto& call = pairs_[p.index / 2];
    if (call.at == stage::idle) {
      reconnect(p);
    } else if (call.at != stage::leaving) {
      leave(p.index / 2);
    }
  }

  void on_tick() {
    const auto now = clock_type::now();
    if (now >= next_stuck_check_) {
      next_stuck_check_ = now + std::chrono::seconds(1);
      for (std::size_t i = 0; i < pairs_.size(); ++i)
        if (pairs_[i].at != stage::idle && pairs_[i].at != stage::leaving &&
            now - pairs_[i].started > std::chrono::seconds(10)) {
          error("call stuck for 10 s between", user(caller(i)));
          leave(i);
        }
    }
    reconnect_leaving();
    while (in_flight_ < std::min(pairs_.size(), static_cast<std::size_t>(std::max(1, s_.window)))) {
      next_pair_ = (next_pair_ + 1) % pairs_.size();
      if (pairs_[next_pair_].at == stage::idle) start_call(next_pair_);
    }
    if (now >= next_sample_) {
      sample();
      next_sample_ += sample_interval();
    }
  }

  void sample() {
    const double elapsed = std::chrono::duration<double>(clock_type::now() - started_).count();
    const double interval = elapsed - last_elapsed_;
    std::printf("| %9.0f | %11zu | %10llu | %7.0f | %14ld | %10ld | %6llu |\n", elapsed, peers_.size(),
                static_cast<unsigned long long>(calls_done_),
                interval > 0 ? static_cast<double>(calls_done_ - last_calls_) / interval : 0.0, rss_kib(s_.server_pid),
                open_fds(s_.server_pid), static_cast<unsigned long long>(errors_));
    std::fflush(stdout);
    last_elapsed_ = elapsed;
    last_calls_ = calls_done_;
  }

  settings& s_;
  std::vector<std::string> users_;
  std::vector<std::unique_ptr<peer>> peers_;
  std::vector<call_pair> pairs_;
  std::vector<std::size_t> leaving_;
  loop loop_;
  frame_scanner scanner_;
  frame_fields fields_;
  std::size_t in_flight_ = 0;
  std::size_t next_pair_ = 0;
  uint64_t calls_done_ = 0, reconnects_ = 0, errors_ = 0, last_calls_ = 0;
  double last_elapsed_ = 0;
  clock_type::time_point started_, next_sample_, next_stuck_check_;
};

}  // namespace

int soak(settings& s) {
  if (s.server_pid <= 0) {
    std::fprintf(stderr, "--server-pid is required for the soak scenario\n");
    return 2;
  }
  soak_run run(s);
  return run.run();
}

}  // namespace kwm::bench
