#pragma once
// Two users who must not notice an attack: carol and dave in an answered 1:1 call (and, for
// attacks on groups, both in the group "bystanders"), exchanging a signal, a ping and a chat
// each way every round in a background thread while the attack runs. Every frame they get is
// checked to be valid UTF-8 JSON; pongs, signals and chats are counted and must arrive in
// order and within the patience of a browser client; neither may be closed.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "support/raw_client.hpp"
#include "support/server_process.hpp"

namespace kwm::test {

struct call_ids {
  std::string channel, hash;
};

// `caller` calls `callee_user`, whose socket `callee` accepts; REQUIREs every step and leaves
// both sockets past the exchange ("… has joined" and the answer read on the caller's side).
call_ids answered_call(ws_client& caller, ws_client& callee, const std::string& callee_user,
                       const std::string& caller_user);
// A signal in that call to `target` with `data` (JSON text).
std::string signal_frame(const call_ids& call, const std::string& target, uint64_t id,
                         const std::string& data);
// A webrtc_group join request.
std::string join_frame(const std::string& group, uint64_t id);
// The next text frame, checked to be valid JSON and parsed; REQUIREs both.
rapidjson::Document next_checked(ws_client& ws, const std::string& who);

// How long a bystander waits for any expected frame: kwmjs closes its socket when a pong takes
// longer than 4.5 s, so a server that makes a bystander wait 5 s has disconnected a user.
// Sanitizer builds are several times slower.
std::chrono::milliseconds bystander_patience();

class bystanders {
 public:
  bystanders(server_process& server, bool in_group = false);
  ~bystanders();
  bystanders(const bystanders&) = delete;
  bystanders& operator=(const bystanders&) = delete;

  // Starts the rounds in the background (the attack runs meanwhile).
  void start();
  // Stops the rounds, runs one more round to show the server still serves them, and CHECKs
  // that nothing failed and nobody was closed.
  void check(const std::string& attack);
  // Frames that were not part of their own traffic, as (user, frame), e.g. the
  // notices about attackers joining their group. Unless allow_extras is set, check() fails
  // when there are any.
  std::vector<std::pair<std::string, std::string>> extras();
  bool allow_extras = false;

  static constexpr const char* group = "bystanders";
  uint64_t rounds() const { return rounds_; }

 private:
  struct peer {
    std::string user;
    std::unique_ptr<ws_client> ws;
    uint64_t pongs = 0, signals = 0, chats = 0;
  };
  void run();
  bool round(uint64_t number);
  bool await_round(peer& self, const peer& partner, uint64_t round);
  bool read_until(std::chrono::steady_clock::time_point deadline);
  bool classify(peer& self, const peer& partner, const std::string& text);
  bool ended(const peer& self);
  bool fail(const std::string& why);
  void send(peer& self, const std::string& text);

  bool in_group_;
  peer carol_, dave_;
  call_ids call_;
  std::atomic<uint64_t> rounds_{0};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;  // guards failures_ and extras_
  std::vector<std::string> failures_;
  std::vector<std::pair<std::string, std::string>> extras_;
};

}  // namespace kwm::test
