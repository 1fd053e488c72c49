#pragma once
// What an attacker needs beyond the well-behaved test clients: frames that are built once and
// sent many times, close frames with any payload, frame prefixes, floods from background
// threads, pipelined HTTP requests, and bytes trickled slowly over many sockets.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_client.hpp"

namespace kwm::test {

// The payload of a close frame: the code in network order, then the reason.
std::string close_payload(uint16_t code, std::string_view reason = {});

// A ping of about `bytes` bytes with `members` members (besides type and id) named k0, k1, …,
// their string values padded to reach the size: the costliest frame shape for the parser,
// the key sort and the pong rendering.
std::string costly_ping(uint64_t id, size_t members, size_t bytes);

// Runs `attack` on its own thread until it returns false, `stop()` is called or `duration`
// has passed; counts the rounds. Exceptions (a socket the server closed) end the thread.
// `attack` must not use doctest assertions (REQUIRE would throw across the thread).
class attacker_thread {
 public:
  attacker_thread(std::function<bool()> attack, std::chrono::milliseconds duration);
  ~attacker_thread();
  void stop();
  void join();
  uint64_t rounds() const { return rounds_; }
  const std::string& ended_by() const {
    return ended_by_;
  }  // after join(): the exception text, if any

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> rounds_{0};
  std::string ended_by_;
  std::thread thread_;
};

// Sends every request on one keep-alive connection (re-opened when the server closes it) and
// returns one reply per request; a request whose connection ended unanswered gets status 0.
std::vector<http_reply> http_pipeline(uint16_t port, const std::vector<std::string>& requests,
                                      size_t in_flight = 16);

// Feeds each socket its own `bytes` one byte per `interval`, then endless 'a's (a header line
// or body that never ends), until the server closes it or `give_up` passes. Returns, per
// socket, how long the server let it trickle (nullopt: it was never closed).
struct trickled {
  tcp_socket socket;
  std::string bytes;
};
std::vector<std::optional<std::chrono::milliseconds>> trickle(std::vector<trickled>& sockets,
                                                              std::chrono::milliseconds interval,
                                                              std::chrono::milliseconds give_up);

// Reads frames until the close frame or the end of the stream, answering pings; returns the
// text frames on the way. `client.close_code` is set when a close frame came.
std::vector<std::string> read_until_close(ws_client& client, std::chrono::milliseconds timeout);

}  // namespace kwm::test
