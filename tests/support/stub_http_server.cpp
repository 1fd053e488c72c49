#include "support/stub_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kwm::test {

stub_http_server::stub_http_server(handler respond) : respond_(std::move(respond)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(listener_, 16);
  socklen_t length = sizeof address;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

stub_http_server::~stub_http_server() {
  stopping_ = true;
  thread_.join();
  ::close(listener_);
}

std::vector<std::string> stub_http_server::requests() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return requests_;
}

void stub_http_server::serve() {
  while (!stopping_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    std::string head;
    char chunk[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(client, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      head.append(chunk, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> guard(mutex_);
      requests_.push_back(head);
    }
    const auto [status, body] = respond_(head);
    const std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
                                 "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
    ::shutdown(client, SHUT_WR);
    ::close(client);
  }
}

}  // namespace kwm::test
