#pragma once
// A one-thread HTTP/1.1 server on loopback that answers every request with what a test
// function returns; stands in for outbound services (the TURN credential service).
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kwm::test {

class stub_http_server {
 public:
  // Gets the request head (request line and headers); returns status and body.
  using handler = std::function<std::pair<unsigned, std::string>(const std::string& head)>;

  explicit stub_http_server(handler respond);
  ~stub_http_server();

  uint16_t port() const { return port_; }
  std::vector<std::string> requests() const;

 private:
  void serve();

  handler respond_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace kwm::test
