#include "bench/rtm_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

namespace kwm::bench {
namespace {

int connect_socket(const server_target& target, std::size_t source_index) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!target.sources.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, target.sources[source_index % target.sources.size()].c_str(), &local.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(target.port);
  ::inet_pton(AF_INET, target.host.c_str(), &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one HTTP response (head + Content-Length body); returns status and body.
std::pair<int, std::string> read_response(int fd) {
  std::string data;
  char chunk[4096];
  std::size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return {-1, {}};
    data.append(chunk, static_cast<std::size_t>(n));
  }
  const int status = std::atoi(data.c_str() + 9);
  std::size_t length = 0;
  for (const char* name : {"Content-Length: ", "content-length: "})
    if (auto at = data.find(name); at != std::string::npos && at < head_end)
      length = std::strtoul(data.c_str() + at + std::strlen(name), nullptr, 10);
  while (data.size() < head_end + 4 + length) {
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    data.append(chunk, static_cast<std::size_t>(n));
  }
  return {status, data.substr(head_end + 4, length)};
}

std::string request(const std::string& method, const std::string& target_path, const std::string& headers,
                    const std::string& body) {
  return method + " " + target_path + " HTTP/1.1\r\nHost: kwm\r\nConnection: close\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string json_string_field(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":\"");
  if (at == std::string::npos) return {};
  const auto start = at + key.size() + 4;
  return json.substr(start, json.find('"', start) - start);
}

}  // namespace

std::string encode_text_frame(const std::string& payload) {
  static thread_local std::mt19937 random{std::random_device{}()};
  std::string out;
  out += static_cast<char>(0x81);
  if (payload.size() < 126) {
    out += static_cast<char>(0x80 | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xFF);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>(uint64_t(payload.size()) >> (8 * i) & 0xFF);
  }
  const uint32_t mask = random();
  const char* m = reinterpret_cast<const char*>(&mask);
  out.append(m, 4);
  const std::size_t start = out.size();
  out += payload;
  for (std::size_t i = 0; i < payload.size(); ++i) out[start + i] ^= m[i % 4];
  return out;
}

std::string admin_token_for(const server_target& target, const std::string& user) {
  const int fd = connect_socket(target, 0);
  if (fd < 0) return {};
  const std::string path = target.v1 ? "/api/v1/admin/auth/tokens" : "/api/kwm/v2/admin/auth/tokens";
  send_all(fd, request("POST", path, "Content-Type: application/json\r\n", R"({"type":"Token","sub":")" + user + "\"}"));
  const auto [status, body] = read_response(fd);
  ::close(fd);
  return status == 200 ? "Token " + json_string_field(body, "value") : std::string();
}

int open_rtm_socket(const server_target& target, const std::string& user, std::size_t source_index) {
  int fd = connect_socket(target, source_index);
  if (fd < 0) return -1;
  std::string headers = "Content-Type: application/x-www-form-urlencoded\r\n";
  if (!target.authorization.empty()) headers += "Authorization: " + target.authorization + "\r\n";
  send_all(fd, request("POST", target.v1 ? "/api/v1/rtm.connect" : "/api/kwm/v2/rtm/connect", headers, "user=" + user));
  const auto [status, body] = read_response(fd);
  ::close(fd);
  if (status != 200) return -1;
  const auto url = json_string_field(body, "url");
  fd = connect_socket(target, source_index);
  if (fd < 0) return -1;
  send_all(fd, "GET " + url + " HTTP/1.1\r\nHost: kwm\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos) {  // byte by byte: frames may follow at once
    if (::recv(fd, &c, 1, 0) != 1) {
      ::close(fd);
      return -1;
    }
    head += c;
  }
  if (head.compare(9, 3, "101") != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool frame_reader::feed(const char* data, std::size_t size, const std::function<void(std::string_view)>& on_text,
                        std::string& pong_out) {
  buffer_.append(data, size);
  std::size_t offset = 0;
  bool open = true;
  while (buffer_.size() - offset >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + offset);
    const int opcode = p[0] & 0x0F;
    uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (buffer_.size() - offset < 4) break;
      length = uint64_t(p[2]) << 8 | p[3];
      header = 4;
    } else if (length == 127) {
      if (buffer_.size() - offset < 10) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = length << 8 | p[2 + i];
      header = 10;
    }
    if (buffer_.size() - offset < header + length) break;
    const std::string_view payload(buffer_.data() + offset + header, length);
    if (opcode == 1) on_text(payload);
    else if (opcode == 9) pong_out += [&] {  // answer server pings like a browser
      std::string frame = encode_text_frame(std::string(payload));
      frame[0] = static_cast<char>(0x8A);
      return frame;
    }();
    else if (opcode == 8) open = false;
    offset += header + length;
  }
  buffer_.erase(0, offset);
  return open;
}

}  // namespace kwm::bench
