#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace kwm::test {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

uint16_t free_loopback_port(int socket_type) {
  const int fd = ::socket(AF_INET, socket_type, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

namespace {

// A TCP socket connected to the loopback `port`, bound first to `source` when given; -1 on failure.
int connect_loopback(uint16_t port, const sockaddr_in* source, int receive_buffer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((source != nullptr &&
       ::bind(fd, reinterpret_cast<const sockaddr*>(source), sizeof *source) != 0) ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

tcp_socket::tcp_socket(uint16_t port, std::chrono::milliseconds timeout, int receive_buffer)
    : fd_(connect_loopback(port, nullptr, receive_buffer)) {
  if (fd_ < 0) throw std::runtime_error("connect failed");
  set_timeout(timeout);
  set_send_timeout(timeout);
}

tcp_socket tcp_socket::connect_from(const std::string& source_address, uint16_t port,
                                    std::chrono::milliseconds timeout) {
  sockaddr_in source{};
  source.sin_family = AF_INET;
  if (::inet_pton(AF_INET, source_address.c_str(), &source.sin_addr) != 1)
    throw std::runtime_error("not an IPv4 address: " + source_address);
  tcp_socket socket;
  socket.fd_ = connect_loopback(port, &source, 0);
  if (socket.fd_ < 0) throw std::runtime_error("connect from " + source_address + " failed");
  socket.set_timeout(timeout);
  socket.set_send_timeout(timeout);
  return socket;
}

tcp_socket::tcp_socket(tcp_socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), timed_out_(other.timed_out_), layer_(std::move(other.layer_)) {}

tcp_socket& tcp_socket::operator=(tcp_socket&& other) noexcept {
  if (this != &other) {
    layer_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    timed_out_ = other.timed_out_;
    layer_ = std::move(other.layer_);
  }
  return *this;
}

tcp_socket::~tcp_socket() {
  layer_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void tcp_socket::set_timeout(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void tcp_socket::set_send_timeout(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void tcp_socket::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = layer_ ? layer_->send(fd_, bytes.data(), bytes.size())
                          : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

bool tcp_socket::receive_some(std::string& buffer) {
  char chunk[16384];
  const auto n = layer_ ? layer_->receive(fd_, chunk, sizeof chunk) : ::recv(fd_, chunk, sizeof chunk, 0);
  timed_out_ = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  if (n <= 0) return false;
  buffer.append(chunk, static_cast<size_t>(n));
  return true;
}

void tcp_socket::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

void tcp_socket::reset() {
  layer_.reset();
  linger option{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  ::close(fd_);
  fd_ = -1;
}

bool tcp_socket::wait_for_close(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) continue;
    const auto n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
  }
  return false;
}

std::optional<std::string> http_reply::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return std::nullopt;
}

std::vector<std::string> http_reply::header_values(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) values.push_back(value);
  return values;
}

std::optional<http_reply> read_http_reply(tcp_socket& socket, std::string& buffer) {
  size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos)
    if (!socket.receive_some(buffer)) return std::nullopt;
  http_reply reply;
  std::string_view head(buffer.data(), head_end);
  const auto first_line_end = head.find("\r\n");
  const auto status_line = head.substr(0, first_line_end);
  reply.status = static_cast<unsigned>(std::stoul(std::string(status_line.substr(9, 3))));
  auto rest = first_line_end == std::string_view::npos ? std::string_view{} : head.substr(first_line_end + 2);
  while (!rest.empty()) {
    const auto line_end = rest.find("\r\n");
    const auto line = rest.substr(0, line_end);
    const auto colon = line.find(':');
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    reply.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 2);
  }
  buffer.erase(0, head_end + 4);
  if (const auto coding = reply.header("Transfer-Encoding"); coding && iequals(*coding, "chunked")) {
    // Chunk sizes without extensions, no trailers: what the server writes.
    for (;;) {
      size_t line_end;
      while ((line_end = buffer.find("\r\n")) == std::string::npos)
        if (!socket.receive_some(buffer)) return std::nullopt;
      const size_t size = std::stoul(buffer.substr(0, line_end), nullptr, 16);
      while (buffer.size() < line_end + 2 + size + 2)
        if (!socket.receive_some(buffer)) return std::nullopt;
      reply.body.append(buffer, line_end + 2, size);
      buffer.erase(0, line_end + 2 + size + 2);
      if (size == 0) return reply;
    }
  }
  size_t length = 0;
  if (auto value = reply.header("Content-Length")) length = std::stoul(*value);
  while (buffer.size() < length)
    if (!socket.receive_some(buffer)) return std::nullopt;
  reply.body = buffer.substr(0, length);
  buffer.erase(0, length);
  return reply;
}

std::string build_http_request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body, bool keep_alive) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) request += "Connection: close\r\n";
  request += "\r\n" + body;
  return request;
}

http_reply http_call_on(tcp_socket& socket, const std::string& method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body) {
  socket.send_all(build_http_request(method, target, headers, body, false));
  std::string buffer;
  auto reply = read_http_reply(socket, buffer);
  if (!reply) throw std::runtime_error("no HTTP response for " + method + " " + target);
  return *reply;
}

http_reply http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     const std::string& body) {
  tcp_socket socket(port);
  return http_call_on(socket, method, target, headers, body);
}

held_request::held_request(uint16_t port, const std::string& target) : socket_(port, 30s) {
  socket_.send_all("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n" +
                   "Expect: 100-continue\r\nConnection: close\r\n\r\n");
  const auto interim = read_http_reply(socket_, buffer_);
  if (!interim || interim->status != 100) throw std::runtime_error("no 100 Continue for " + target);
}

http_reply held_request::finish() {
  socket_.send_all("{}");
  auto reply = read_http_reply(socket_, buffer_);
  if (!reply) throw std::runtime_error("no answer to the held request");
  return *reply;
}

std::string encode_frame(opcode op, std::string_view payload, bool fin, bool masked,
                         uint8_t reserved_bits) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | (reserved_bits & 0x70) | static_cast<uint8_t>(op));
  const uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    out += static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xFF);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>(uint64_t(payload.size()) >> (8 * i) & 0xFF);
  }
  if (!masked) return out.append(payload);
  static thread_local std::mt19937 random{std::random_device{}()};
  char mask[4];
  for (auto& m : mask) m = static_cast<char>(random());
  out.append(mask, 4);
  const size_t start = out.size();
  out.append(payload);
  for (size_t i = 0; i < payload.size(); ++i) out[start + i] ^= mask[i % 4];
  return out;
}

ws_client::ws_client(uint16_t port, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& extra_headers,
                     int receive_buffer, std::string_view early_bytes)
    : ws_client(tcp_socket(port, 5s, receive_buffer), path, extra_headers, early_bytes) {}

ws_client::ws_client(tcp_socket connected, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& extra_headers,
                     std::string_view early_bytes)
    : socket(std::move(connected)) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
      {"Sec-WebSocket-Version", "13"},
      {"Origin", "http://localhost"}};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  socket.send_all(build_http_request("GET", path, headers, {}, true) + std::string(early_bytes));
  auto reply = read_http_reply(socket, buffer_);
  if (!reply) throw std::runtime_error("no handshake response for " + path);
  handshake = std::move(*reply);
}

void ws_client::send_frame(opcode op, std::string_view payload, bool fin) {
  socket.send_all(encode_frame(op, payload, fin));
}

void ws_client::send_close(uint16_t code) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  send_frame(opcode::close, payload);
}

std::optional<ws_frame> ws_client::parse_buffered() {
  if (buffer_.size() < 2) return std::nullopt;
  const auto b0 = static_cast<uint8_t>(buffer_[0]);
  const auto b1 = static_cast<uint8_t>(buffer_[1]);
  size_t header = 2;
  uint64_t length = b1 & 0x7F;
  if (length == 126) {
    if (buffer_.size() < 4) return std::nullopt;
    length = uint64_t(uint8_t(buffer_[2])) << 8 | uint8_t(buffer_[3]);
    header = 4;
  } else if (length == 127) {
    if (buffer_.size() < 10) return std::nullopt;
    length = 0;
    for (int i = 0; i < 8; ++i) length = length << 8 | uint8_t(buffer_[2 + i]);
    header = 10;
  }
  if (b1 & 0x80) header += 4;  // servers never mask, but be tolerant
  if (buffer_.size() < header + length) return std::nullopt;
  ws_frame frame;
  frame.fin = (b0 & 0x80) != 0;
  frame.op = static_cast<opcode>(b0 & 0x0F);
  frame.payload = buffer_.substr(header, length);
  buffer_.erase(0, header + length);
  return frame;
}

std::optional<ws_frame> ws_client::next_frame(std::chrono::milliseconds timeout) {
  socket.set_timeout(timeout);
  while (true) {
    if (auto frame = parse_buffered()) return frame;
    if (!socket.receive_some(buffer_)) {
      closed = !socket.timed_out();
      return std::nullopt;
    }
  }
}

std::optional<std::string> ws_client::next_text(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto frame = next_frame(left);
    if (!frame) return std::nullopt;
    switch (frame->op) {
      case opcode::text:
        return std::move(frame->payload);
      case opcode::ping:
        pings.push_back(frame->payload);
        if (auto_pong) send_frame(opcode::pong, frame->payload);
        break;
      case opcode::close:
        if (frame->payload.size() >= 2)
          close_code = static_cast<uint16_t>(uint8_t(frame->payload[0]) << 8 | uint8_t(frame->payload[1]));
        else
          close_code = 1005;
        close_reason = frame->payload.size() > 2 ? frame->payload.substr(2) : std::string();
        closed = true;
        if (auto_pong) {  // a well-behaved client completes the close handshake
          try {
            send_frame(opcode::close, frame->payload.substr(0, 2));
            socket.shutdown_write();  // as browsers do once the close handshake is done
          } catch (const std::exception&) {
          }
        }
        return std::nullopt;
      default:
        break;
    }
  }
}

std::optional<uint16_t> ws_client::wait_close(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    next_text(std::max(left, std::chrono::milliseconds(1)));
  }
  return close_code;
}

}  // namespace kwm::test
