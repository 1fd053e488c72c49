#include "bench/rtm_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstring>
#include <random>

namespace kwm::bench {
namespace {

// A connection to the target (TLS started with --tls, resuming `session` when given); a
// closed link on failure.
link connect_socket(const server_target& target, std::size_t source_index, ssl_session_st* session = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return link();
  link connection(fd);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!target.sources.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, target.sources[source_index % target.sources.size()].c_str(),
                &local.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(target.port);
  ::inet_pton(AF_INET, target.host.c_str(), &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return link();
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (target.tls && !connection.start_tls(session)) return link();
  return connection;
}

bool send_all(link& connection, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const auto n = connection.write(data.data() + sent, data.size() - sent);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one HTTP response (head + Content-Length body); returns status and body.
std::pair<int, std::string> read_response(link& connection) {
  std::string data;
  char chunk[4096];
  std::size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    const auto n = connection.read(chunk, sizeof chunk);
    if (n <= 0) return {-1, {}};
    data.append(chunk, static_cast<std::size_t>(n));
  }
  const int status = std::atoi(data.c_str() + 9);
  std::size_t length = 0;
  for (const char* name : {"Content-Length: ", "content-length: "})
    if (auto at = data.find(name); at != std::string::npos && at < head_end)
      length = std::strtoul(data.c_str() + at + std::strlen(name), nullptr, 10);
  while (data.size() < head_end + 4 + length) {
    const auto n = connection.read(chunk, sizeof chunk);
    if (n <= 0) break;
    data.append(chunk, static_cast<std::size_t>(n));
  }
  return {status, data.substr(head_end + 4, length)};
}

std::string request(const std::string& method, const std::string& target_path,
                    const std::string& headers, const std::string& body) {
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

// xorshift64: masks need not be strong here, only different from frame to frame.
uint32_t next_mask() {
  static thread_local uint64_t state = std::random_device{}() | 1;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<uint32_t>(state >> 32);
}

void append_frame(std::string& out, unsigned char opcode, std::string_view payload) {
  const auto size = payload.size();
  out += static_cast<char>(0x80 | opcode);
  if (size < 126) {
    out += static_cast<char>(0x80 | size);
  } else if (size <= 0xFFFF) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(size >> 8);
    out += static_cast<char>(size & 0xFF);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>(uint64_t(size) >> (8 * i) & 0xFF);
  }
  const uint32_t mask = next_mask();
  char key[4];
  std::memcpy(key, &mask, 4);
  out.append(key, 4);
  const std::size_t start = out.size();
  out.append(payload);
  char* masked = out.data() + start;
  uint64_t wide_mask;  // the key repeated, applied 8 bytes at a time
  std::memcpy(&wide_mask, key, 4);
  std::memcpy(reinterpret_cast<char*>(&wide_mask) + 4, key, 4);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, masked + i, 8);
    word ^= wide_mask;
    std::memcpy(masked + i, &word, 8);
  }
  for (; i < size; ++i) masked[i] = static_cast<char>(masked[i] ^ key[i % 4]);
}

std::string encode_text_frame(std::string_view payload) {
  std::string out;
  append_text_frame(out, payload);
  return out;
}

std::string admin_token_for(const server_target& target, const std::string& user) {
  auto connection = connect_socket(target, 0);
  if (!connection.is_open()) return {};
  const std::string path =
      target.v1 ? "/api/v1/admin/auth/tokens" : "/api/kwm/v2/admin/auth/tokens";
  send_all(connection, request("POST", path, "Content-Type: application/json\r\n",
                               R"({"type":"Token","sub":")" + user + "\"}"));
  const auto [status, body] = read_response(connection);
  return status == 200 ? "Token " + json_string_field(body, "value") : std::string();
}

link open_rtm_socket(const server_target& target, const std::string& user,
                     std::size_t source_index) {
  auto connection = connect_socket(target, source_index);
  if (!connection.is_open()) return link();
  std::string headers = "Content-Type: application/x-www-form-urlencoded\r\n";
  if (!target.authorization.empty()) headers += "Authorization: " + target.authorization + "\r\n";
  send_all(connection, request("POST", target.v1 ? "/api/v1/rtm.connect" : "/api/kwm/v2/rtm/connect",
                               headers, "user=" + user));
  const auto [status, body] = read_response(connection);
  ssl_session_st* session = target.tls_resume ? connection.session() : nullptr;
  connection.close();
  if (status != 200) {
    if (session != nullptr) SSL_SESSION_free(session);
    return link();
  }
  const auto url = json_string_field(body, "url");
  connection = connect_socket(target, source_index, session);
  if (session != nullptr) SSL_SESSION_free(session);
  if (!connection.is_open()) return link();
  send_all(connection,
           "GET " + url +
               " HTTP/1.1\r\nHost: kwm\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  // The hello may follow the head in the same segment: peek, then take only the head.
  std::string head;
  char chunk[2048];
  for (;;) {
    const auto n = connection.peek(chunk, sizeof chunk);
    if (n <= 0) return link();
    const auto known = head.size();
    head.append(chunk, static_cast<std::size_t>(n));
    const auto end = head.find("\r\n\r\n", known < 3 ? 0 : known - 3);
    if (end != std::string::npos) head.resize(end + 4);
    const auto take = head.size() - known;
    if (connection.read(chunk, take) != static_cast<ssize_t>(take)) return link();
    if (end != std::string::npos) break;
  }
  if (head.size() < 12 || head.compare(9, 3, "101") != 0) return link();
  return connection;
}

bool frame_reader::read_header(const unsigned char* p, std::size_t available, frame_header& out) {
  if (available < 2) return false;
  out.final = (p[0] & 0x80) != 0;
  out.opcode = p[0] & 0x0F;
  out.payload_size = p[1] & 0x7F;
  out.header_size = 2;
  if (out.payload_size == 126) {
    if (available < 4) return false;
    out.payload_size = uint64_t(p[2]) << 8 | p[3];
    out.header_size = 4;
  } else if (out.payload_size == 127) {
    if (available < 10) return false;
    out.payload_size = 0;
    for (int i = 0; i < 8; ++i) out.payload_size = out.payload_size << 8 | p[2 + i];
    out.header_size = 10;
  }
  return available >= out.header_size;
}

void frame_reader::answer_ping(std::string_view payload, std::string& pong_out) {
  append_frame(pong_out, 0xA, payload);  // as a browser does
}

}  // namespace kwm::bench
