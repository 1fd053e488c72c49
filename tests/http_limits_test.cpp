// Hostile HTTP clients against a real server (D17, D20): chunked requests whose framing
// tries to outgrow the limits, a connection table filled by one client, per-address caps
// with and without a trusted proxy, and static files that must stream from disk.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "net/client_address.hpp"
#include "net/detail/request_framing_check.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace kwm::test;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t mib = 1024 * 1024;

// Resident set size of this process (server and test clients share it).
std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string key; status >> key;) {
    if (key == "VmRSS:") {
      std::size_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 20, '\n');
  }
  return 0;
}

std::string growth_text(std::size_t before, std::size_t after) {
  const auto growth = after > before ? after - before : 0;
  return std::to_string(growth / 1024) + " KiB (RSS " + std::to_string(before / mib) + " → " +
         std::to_string(after / mib) + " MiB)";
}

// Sends `piece` until `total` bytes went out or the server stopped taking them (it answered
// and closed, or stopped reading). Returns the bytes sent.
std::size_t send_until_refused(tcp_socket& socket, const std::string& piece, std::size_t total) {
  std::size_t sent = 0;
  try {
    while (sent < total) {
      socket.send_all(piece);
      sent += piece.size();
    }
  } catch (const std::runtime_error&) {
  }
  return sent;
}

void send_ignoring_errors(tcp_socket& socket, const std::string& bytes) {
  try {
    socket.send_all(bytes);
  } catch (const std::runtime_error&) {
  }
}

const std::string chunked_connect_head =
    "POST /api/v1/rtm.connect HTTP/1.1\r\nHost: kwm\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string chunk(std::string_view data, std::string_view extension = {}) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", data.size());
  return std::string(size) + std::string(extension) + "\r\n" + std::string(data) + "\r\n";
}

// Sends a whole chunked connect request and reads the answer (nullopt: no answer).
std::optional<http_reply> chunked_connect(uint16_t port, const std::string& body_and_framing) {
  tcp_socket socket(port, 10s);
  send_ignoring_errors(socket, chunked_connect_head + body_and_framing);
  std::string buffer;
  return read_http_reply(socket, buffer);
}

void check_refused_as_too_large_head(const std::optional<http_reply>& reply) {
  REQUIRE(reply.has_value());
  CHECK(reply->status == 431);
  CHECK(reply->body == "Request Header Fields Too Large\n");
}

std::string keep_alive_get(const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return build_http_request("GET", target, headers, {}, true);
}

// One keep-alive request on `socket`; its status, or 0 when the connection ended first.
unsigned exchange_on(tcp_socket& socket, const std::string& request) {
  std::string buffer;
  socket.send_all(request);
  const auto reply = read_http_reply(socket, buffer);
  return reply ? reply->status : 0;
}

// The answer of a plain request on a fresh connection, or 0 when the connection was closed
// without one (refused by the listener).
unsigned status_of_fresh_request(
    tcp_socket socket, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  try {
    return exchange_on(socket, build_http_request("GET", "/health-check", headers, {}, false));
  } catch (const std::runtime_error&) {
    return 0;
  }
}

kwm::app::runtime_options with_max_connections(std::size_t max_connections) {
  auto options = test_options();
  options.server.http.max_connections = max_connections;
  return options;
}

// Sends a ping and waits for its pong (skipping hello and other frames before it).
bool pong_arrives(ws_client& client) {
  client.send_text(R"({"type":"ping","id":7})");
  for (auto text = client.next_text(); text; text = client.next_text())
    if (text->find("\"pong\"") != std::string::npos) return true;
  return false;
}

}  // namespace

// -- who a connection counts as -----------------------------------------------------------

TEST_CASE("X-Forwarded-For: the rightmost hop that is not a trusted proxy is the client") {
  const kwm::net::address_filter proxies(
      {*kwm::net::network::parse("10.0.0.0/8"), *kwm::net::network::parse("::1/128")});
  const auto client = [&](std::vector<std::string_view> values) -> std::string {
    const auto found = kwm::net::forwarded_client(values, proxies);
    return found ? found->to_string() : "none";
  };
  CHECK(client({"203.0.113.5"}) == "203.0.113.5");
  CHECK(client({"198.51.100.1, 203.0.113.5, 10.0.0.2"}) == "203.0.113.5");
  CHECK(client({"198.51.100.1", " 203.0.113.5 ,\t10.0.0.2 "}) == "203.0.113.5");
  CHECK(client({"203.0.113.5, ::1"}) == "203.0.113.5");
  CHECK(client({"10.0.0.3, 10.0.0.2"}) == "10.0.0.3");  // only proxies: the first of them
  CHECK(client({"203.0.113.5:4711"}) == "203.0.113.5");
  CHECK(client({"[2001:db8::1]:4711"}) == "2001:db8:0:0:0:0:0:1");
  CHECK(client({"2001:db8::1"}) == "2001:db8:0:0:0:0:0:1");
  CHECK(client({"::ffff:203.0.113.5"}) == "203.0.113.5");
  // No usable answer: the caller keeps the TCP peer.
  for (const char* unusable : {"", " , ", "unknown", "203.0.113.5, garbage", "garbage, 10.0.0.2",
                               "[2001:db8::1", "300.1.1.1"}) {
    CAPTURE(unusable);
    CHECK(client({unusable}) == "none");
  }
  CHECK(client({}) == "none");
  // Everything left of the client is the client's own text and does not matter.
  CHECK(client({"garbage, 203.0.113.5"}) == "203.0.113.5");
}

TEST_CASE("the per-address cap counts IPv4 addresses and IPv6 /64 networks") {
  const auto key = [](const char* text) {
    return kwm::net::address_key_of(*kwm::net::parse_forwarded_hop(text));
  };
  CHECK(key("192.0.2.1") == key("192.0.2.1"));
  CHECK_FALSE(key("192.0.2.1") == key("192.0.2.2"));
  CHECK(key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::7"));
  CHECK_FALSE(key("2001:db8:1:2::1") == key("2001:db8:1:3::1"));
  CHECK_FALSE(key("0.0.0.1") == key("::1"));
}

// -- chunked requests (finding 14) --------------------------------------------------------

TEST_CASE("chunked trailers count against the header limit and memory stays flat") {
  server_fixture server;
  const auto before = resident_bytes();
  tcp_socket socket(server.port(), 10s);
  socket.send_all(chunked_connect_head + chunk("user=alice") + "0\r\n");
  const auto sent =
      send_until_refused(socket, "X-Trailer: " + std::string(1000, 't') + "\r\n", 64 * mib);
  send_ignoring_errors(socket, "\r\n");
  std::string buffer;
  const auto reply = read_http_reply(socket, buffer);
  const auto after = resident_bytes();
  MESSAGE("trailer flood: server stopped reading after " << sent / 1024 << " KiB sent; growth "
                                                         << growth_text(before, after));
  check_refused_as_too_large_head(reply);
  CHECK(socket.wait_for_close(5s));
  CHECK(sent < 64 * mib);
  CHECK(after < before + 16 * mib);
  CHECK(http_call(server.port(), "GET", "/health-check").status == 200);
}

TEST_CASE("chunk extensions and padded chunk sizes count against the header limit") {
  server_fixture server;
  const auto before = resident_bytes();
  SUBCASE("one chunk line with a 64 MiB extension") {
    tcp_socket socket(server.port(), 10s);
    socket.send_all(chunked_connect_head + "a;x=");
    const auto sent = send_until_refused(socket, std::string(64 * 1024, 'e'), 64 * mib);
    send_ignoring_errors(socket, "\r\nuser=alice\r\n0\r\n\r\n");
    std::string buffer;
    check_refused_as_too_large_head(read_http_reply(socket, buffer));
    CHECK(sent < 64 * mib);
    MESSAGE("extension flood: " << sent / 1024 << " KiB sent; growth "
                                << growth_text(before, resident_bytes()));
  }
  SUBCASE("small extensions on many chunks add up") {
    std::string body;
    for (int i = 0; i < 200; ++i) body += chunk("x", ";ext=" + std::string(100, 'e'));
    check_refused_as_too_large_head(
        chunked_connect(server.port(), chunk("user=alice&p=") + body + "0\r\n\r\n"));
  }
  SUBCASE("chunk sizes padded with zeros") {
    std::string body;
    for (int i = 0; i < 10; ++i) body += std::string(4000, '0') + "1\r\nx\r\n";
    check_refused_as_too_large_head(
        chunked_connect(server.port(), chunk("user=alice&p=") + body + "0\r\n\r\n"));
  }
  SUBCASE("a modest extension and trailer are accepted") {
    const auto reply = chunked_connect(
        server.port(), chunk("user=alice", ";name=value") + "0\r\nX-Checksum: 1\r\n\r\n");
    REQUIRE(reply.has_value());
    CHECK(reply->status == 200);
    CHECK(std::string(parse_json(reply->body)["self"]["id"].GetString()) == "alice");
  }
  CHECK(http_call(server.port(), "GET", "/health-check").status == 200);
}

TEST_CASE("many tiny chunks are read within the body limit and refused beyond it") {
  server_fixture server;
  std::string small = chunk("user=alice&p=");
  for (int i = 0; i < 4000; ++i) small += chunk("x");
  auto reply = chunked_connect(server.port(), small + "0\r\n\r\n");
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(std::string(parse_json(reply->body)["self"]["id"].GetString()) == "alice");

  std::string large = chunk("user=alice&p=");
  for (int i = 0; i < 70'000; ++i) large += chunk("x");
  reply = chunked_connect(server.port(), large + "0\r\n\r\n");
  REQUIRE(reply.has_value());
  CHECK(reply->status == 413);
}

TEST_CASE("trailer fields never act as request headers") {
  const std::string key(32, 'k');
  server_fixture server(token_auth_options(key));
  const auto token = new_token(server.port(), "alice");
  // The same token in a header is accepted; in a trailer it is not a header at all.
  CHECK(connect_with(server.port(), "Token " + token, "alice").status == 200);
  const auto reply = chunked_connect(
      server.port(), chunk("user=alice") + "0\r\nAuthorization: Token " + token + "\r\n\r\n");
  REQUIRE(reply.has_value());
  CHECK(reply->status == 403);
}

TEST_CASE("the metrics listener bounds chunked requests too") {
  auto options = test_options();
  options.metrics_listener = kwm::net::server_config{};
  options.metrics_listener->port = 0;
  server_fixture server(options);
  REQUIRE(server.runtime->metrics_port() != 0);
  tcp_socket socket(server.runtime->metrics_port(), 10s);
  socket.send_all(
      "POST /metrics HTTP/1.1\r\nHost: kwm\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n");
  const auto sent =
      send_until_refused(socket, "X-Trailer: " + std::string(1000, 't') + "\r\n", 64 * mib);
  send_ignoring_errors(socket, "\r\n");
  std::string buffer;
  check_refused_as_too_large_head(read_http_reply(socket, buffer));
  CHECK(sent < 64 * mib);
}

// -- the connection table (finding 10) ----------------------------------------------------

TEST_CASE("a full table of idle keep-alive connections makes room for a new client, oldest first") {
  server_fixture server(with_max_connections(4));
  std::vector<tcp_socket> idle;
  for (int i = 0; i < 4; ++i) {
    idle.emplace_back(server.port());
    REQUIRE(exchange_on(idle.back(), keep_alive_get("/health-check")) == 200);
  }
  CHECK(status_of_fresh_request(tcp_socket(server.port())) == 200);
  CHECK(idle[0].wait_for_close(5s));
  for (int i = 1; i < 4; ++i) {
    CAPTURE(i);
    CHECK(exchange_on(idle[i], keep_alive_get("/health-check")) == 200);
  }
}

TEST_CASE("a full table of unfinished request heads makes room for a new client") {
  server_fixture server(with_max_connections(3));
  std::vector<tcp_socket> slow;
  for (int i = 0; i < 3; ++i) {
    slow.emplace_back(server.port());
    slow.back().send_all("GET /health-check HTTP/1.1\r\nHost: kwm\r\n");
  }
  REQUIRE(eventually([&] { return server.runtime->open_connections() == 3; }));
  CHECK(status_of_fresh_request(tcp_socket(server.port())) == 200);
  CHECK(slow[0].wait_for_close(5s));
  // A request in progress is not evicted: the second head completes and is answered.
  slow[1].send_all("\r\n");
  std::string buffer;
  const auto reply = read_http_reply(slow[1], buffer);
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
}

TEST_CASE("WebSockets are never evicted: a table full of them refuses new connections") {
  server_fixture server(with_max_connections(2));
  const auto first_key = server.connect("alice");
  const auto second_key = server.connect("bob");
  REQUIRE(eventually([&] { return server.runtime->open_connections() == 0; }));
  ws_client alice(server.port(), first_key);
  ws_client bob(server.port(), second_key);
  REQUIRE(alice.is_open());
  REQUIRE(bob.is_open());
  tcp_socket refused(server.port());
  CHECK(refused.wait_for_close(5s));
  CHECK(pong_arrives(alice));
  CHECK(pong_arrives(bob));
}

// -- per-address caps ---------------------------------------------------------------------

TEST_CASE("--max-connections-per-address refuses a direct peer's extra connections") {
  auto options = test_options();
  options.server.http.max_connections_per_address = 2;
  server_fixture server(options);
  auto first = std::make_unique<tcp_socket>(server.port());
  tcp_socket second(server.port());
  REQUIRE(exchange_on(*first, keep_alive_get("/health-check")) == 200);
  REQUIRE(exchange_on(second, keep_alive_get("/health-check")) == 200);
  // A third from 127.0.0.1 is closed unanswered, even when it claims another address.
  CHECK(status_of_fresh_request(tcp_socket(server.port()), {{"X-Forwarded-For", "192.0.2.1"}}) ==
        0);
  // Another address is unaffected.
  CHECK(status_of_fresh_request(tcp_socket::connect_from("127.0.0.2", server.port())) == 200);
  // A closed connection frees its place.
  first.reset();
  CHECK(eventually([&] { return status_of_fresh_request(tcp_socket(server.port())) == 200; }));
}

TEST_CASE("behind a trusted proxy the cap counts the forwarded address per request and WebSocket") {
  auto options = test_options();
  options.server.http.max_connections_per_address = 2;
  options.server.trusted_proxies =
      kwm::net::address_filter({*kwm::net::network::parse("127.0.0.1/32")});
  server_fixture server(options);
  const auto port = server.port();
  const std::vector<std::pair<std::string, std::string>> client = {
      {"X-Forwarded-For", "198.51.100.7"}};
  ws_client one(port, server.connect("alice"), client);
  ws_client two(port, server.connect("bob"), client);
  REQUIRE(one.is_open());
  REQUIRE(two.is_open());

  auto reply = http_call(port, "GET", "/health-check", client);
  CHECK(reply.status == 429);
  CHECK(reply.body == "too many connections\n");
  // The rightmost hop that is not a trusted proxy is the client.
  CHECK(http_call(port, "GET", "/health-check", {{"X-Forwarded-For", "198.51.100.7, 127.0.0.1"}})
            .status == 429);
  CHECK(http_call(port, "GET", "/health-check",
                  {{"X-Forwarded-For", "198.51.100.7"}, {"X-Forwarded-For", "127.0.0.1"}})
            .status == 429);
  CHECK(http_call(port, "GET", "/health-check", {{"X-Forwarded-For", "198.51.100.7, 198.51.100.9"}})
            .status == 200);
  CHECK(http_call(port, "GET", "/health-check", {{"X-Forwarded-For", "198.51.100.8"}}).status ==
        200);

  // The proxy's keep-alive connections count only while they carry a request: after the
  // 429 the same connection serves another client.
  tcp_socket pooled(port);
  CHECK(exchange_on(pooled, keep_alive_get("/health-check", client)) == 429);
  CHECK(exchange_on(pooled,
                    keep_alive_get("/health-check", {{"X-Forwarded-For", "198.51.100.8"}})) == 200);
  std::vector<tcp_socket> idle;
  for (int i = 0; i < 3; ++i) {
    idle.emplace_back(port);
    CHECK(exchange_on(idle.back(), keep_alive_get("/health-check",
                                                  {{"X-Forwarded-For", "198.51.100.8"}})) == 200);
  }

  // A closed WebSocket frees its place.
  one.send_close(1000);
  one.wait_close();
  CHECK(eventually([&] { return http_call(port, "GET", "/health-check", client).status == 200; }));

  // X-Forwarded-For from a peer that is not a trusted proxy is ignored: 127.0.0.2 is capped
  // as itself.
  tcp_socket a = tcp_socket::connect_from("127.0.0.2", port);
  tcp_socket b = tcp_socket::connect_from("127.0.0.2", port);
  REQUIRE(exchange_on(a, keep_alive_get("/health-check")) == 200);
  REQUIRE(exchange_on(b, keep_alive_get("/health-check")) == 200);
  CHECK(status_of_fresh_request(tcp_socket::connect_from("127.0.0.2", port),
                                {{"X-Forwarded-For", "198.51.100.20"}}) == 0);
}

// -- static files (findings 4 and 15) -----------------------------------------------------

TEST_CASE("static files: a listing leaves out entries that cannot be inspected") {
  temp_dir www;
  www.write("plain.txt", "plain");
  www.write("sub/inner.txt", "inner");
  fs::create_symlink(www.path / "loop-b", www.path / "loop-a");
  fs::create_symlink(www.path / "loop-a", www.path / "loop-b");
  fs::create_symlink(www.path / "missing", www.path / "dangling");
  fs::create_symlink(www.path / "sub", www.path / "linked-sub");
  temp_dir outside;
  outside.write("secret.txt", "secret");
  fs::create_symlink(outside.path / "secret.txt", www.path / "escape.txt");
  auto options = test_options();
  options.www_root = www.path.string();
  server_fixture server(options);

  const auto reply = http_call(server.port(), "GET", "/");
  REQUIRE(reply.status == 200);
  CHECK(reply.body.find(">plain.txt<") != std::string::npos);
  CHECK(reply.body.find(">sub/<") != std::string::npos);
  CHECK(reply.body.find(">linked-sub/<") != std::string::npos);
  for (const char* hidden : {"loop-a", "loop-b", "dangling", "escape.txt"}) {
    CAPTURE(hidden);
    CHECK(reply.body.find(hidden) == std::string::npos);
  }
  CHECK(http_call(server.port(), "GET", "/loop-a").status == 404);
  CHECK(http_call(server.port(), "GET", "/linked-sub/inner.txt").body == "inner");
  CHECK(http_call(server.port(), "GET", "/health-check").status == 200);
}

TEST_CASE("static files: large files stream from disk with bounded memory") {
  constexpr std::size_t file_bytes = 64 * mib;
  temp_dir www;
  {
    // Sparse, with markers at the start, the middle and the end.
    const int fd = ::open((www.path / "big.bin").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "BEGIN", 5, 0) == 5);
    REQUIRE(::pwrite(fd, "MIDDLE", 6, file_bytes / 2) == 6);
    REQUIRE(::pwrite(fd, "END", 3, file_bytes - 3) == 3);
    ::close(fd);
  }
  auto options = test_options();
  options.www_root = www.path.string();
  server_fixture server(options);
  const auto port = server.port();

  // A whole GET and a range are complete and correct.
  auto reply = http_call(port, "GET", "/big.bin");
  CHECK(reply.status == 200);
  REQUIRE(reply.body.size() == file_bytes);
  CHECK(reply.body.compare(0, 5, "BEGIN") == 0);
  CHECK(reply.body.compare(file_bytes / 2, 6, "MIDDLE") == 0);
  CHECK(reply.body.compare(file_bytes - 3, 3, "END") == 0);
  reply = {};
  reply = http_call(port, "GET", "/big.bin",
                    {{"Range", "bytes=" + std::to_string(file_bytes / 2) + "-"}});
  CHECK(reply.status == 206);
  CHECK(reply.body.size() == file_bytes / 2);
  CHECK(reply.body.compare(0, 6, "MIDDLE") == 0);
  reply = {};

  // 20 clients that ask for the file and never read it.
  const auto before = resident_bytes();
  std::vector<tcp_socket> readers;
  for (int i = 0; i < 20; ++i) {
    readers.emplace_back(port, 10s, 16 * 1024);
    readers.back().send_all(keep_alive_get("/big.bin"));
  }
  for (auto& reader : readers) {
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) REQUIRE(reader.receive_some(head));
    CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  }
  const auto after = resident_bytes();
  MESSAGE("20 unread GETs of a 64 MiB file: growth " << growth_text(before, after));
  CHECK(after < before + 32 * mib);
  CHECK(http_call(port, "GET", "/health-check").status == 200);
  readers.clear();  // before the server, so its drain does not wait for them
}

// -- message framing and Host (N2), Expect (RFC 7231 §5.1.1) ------------------------------

TEST_CASE("absolute-form request targets are served as their path (RFC 7230 §5.3.2)") {
  using kwm::net::origin_form_of;
  CHECK(origin_form_of("/health-check") == "/health-check");
  CHECK(origin_form_of("http://example.com/health-check?x=1") == "/health-check?x=1");
  CHECK(origin_form_of("HTTPS://example.com:8443/a/b") == "/a/b");
  CHECK(origin_form_of("http://example.com") == "/");
  CHECK(origin_form_of("http://example.com?x") == "/");
  CHECK(origin_form_of("*") == "*");
  CHECK(origin_form_of("ftp://example.com/a") == "ftp://example.com/a");
  CHECK(origin_form_of("http:/a") == "http:/a");
}

TEST_CASE("an absolute-form request target reaches its route") {
  server_fixture server;
  tcp_socket socket(server.port(), 10s);
  socket.send_all("GET http://127.0.0.1:" + std::to_string(server.port()) +
                  "/health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string buffer;
  const auto reply = read_http_reply(socket, buffer);
  REQUIRE(reply);
  CHECK(reply->status == 200);
}

TEST_CASE("request framing: only a lone chunked coding and never with Content-Length and one Host") {
  using kwm::net::request_head_view;
  const auto ok = [](unsigned version, std::vector<std::pair<std::string_view, std::string_view>> fields) {
    return kwm::net::has_unambiguous_framing(request_head_view{version, std::move(fields)});
  };
  CHECK(ok(11, {{"Host", "a"}}));
  CHECK(ok(11, {{"host", "a"}, {"Transfer-Encoding", " Chunked "}}));
  CHECK(ok(11, {{"Host", "a"}, {"Content-Length", "5"}, {"content-length", "5"}}));
  CHECK(ok(10, {}));
  CHECK_FALSE(ok(11, {}));
  CHECK_FALSE(ok(11, {{"Host", "a"}, {"Host", "a"}}));
  CHECK_FALSE(ok(10, {{"Host", "a"}, {"Host", "b"}}));
  for (const std::string_view coding : {"identity", "gzip, chunked", "chunked, identity", "chunked,", "", "chunkedx"})
    CHECK_MESSAGE(!ok(11, {{"Host", "a"}, {"Transfer-Encoding", coding}}), coding);
  CHECK_FALSE(ok(11, {{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}));
  CHECK_FALSE(ok(11, {{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}));
  CHECK_FALSE(ok(11, {{"Host", "a"}, {"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}));
  CHECK_FALSE(ok(10, {{"Transfer-Encoding", "chunked"}}));
  CHECK_FALSE(ok(11, {{"Host", "a"}, {"Content-Length", "5"}, {"Content-Length", "6"}}));
  CHECK_FALSE(ok(11, {{"Host", "a"}, {"Content-Length", "5, 5"}}));
  CHECK_FALSE(ok(11, {{"Host", "a"}, {"Content-Length", "+5"}}));
}

TEST_CASE("smuggling shapes are answered 400 Bad Request and the connection is closed (N2)") {
  server_fixture server;
  const std::string post =
      "POST /api/v1/rtm.connect HTTP/1.1\r\nHost: kwm\r\nContent-Type: application/x-www-form-urlencoded\r\n";
  const std::string next = "GET /health-check HTTP/1.1\r\nHost: kwm\r\n\r\n";
  for (const std::string& request :
       {post + "Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nuser=" + next,
        post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + next,
        post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + next,
        post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + next,
        post + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + next,
        post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nuser=a" + next,
        std::string("GET /health-check HTTP/1.1\r\n\r\n") + next,
        std::string("GET /health-check HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") + next}) {
    CAPTURE(request);
    tcp_socket socket(server.port(), 10s);
    socket.send_all(request);
    std::string buffer;
    const auto reply = read_http_reply(socket, buffer);
    REQUIRE(reply.has_value());
    CHECK(reply->status == 400);
    CHECK(reply->header("Content-Type") == std::optional<std::string>("text/plain; charset=utf-8"));
    CHECK(reply->body == "Bad Request\n");
    CHECK_FALSE(read_http_reply(socket, buffer).has_value());
  }
  // HTTP/1.0 needs no Host.
  tcp_socket plain(server.port(), 10s);
  plain.send_all("GET /health-check HTTP/1.0\r\n\r\n");
  std::string buffer;
  const auto reply = read_http_reply(plain, buffer);
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
}

namespace {

// A connect request with `Expect: <expectation>`: the head alone first; after an interim
// 100, `body`. The statuses received, in order.
std::vector<unsigned> statuses_with_expect(uint16_t port, const std::string& expectation, const std::string& framing,
                                           const std::string& body) {
  tcp_socket socket(port, 10s);
  socket.send_all("POST /api/v1/rtm.connect HTTP/1.1\r\nHost: kwm\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\nExpect: " +
                  expectation + "\r\n" + framing + "\r\n");
  std::string buffer;
  std::vector<unsigned> statuses;
  for (auto reply = read_http_reply(socket, buffer); reply; reply = read_http_reply(socket, buffer)) {
    statuses.push_back(reply->status);
    if (reply->status != 100) break;
    socket.send_all(body);
  }
  return statuses;
}

}  // namespace

TEST_CASE("Expect: 100-continue gets 100 Continue before the body or its final answer at once") {
  server_fixture server;
  const auto port = server.port();
  using statuses = std::vector<unsigned>;
  CHECK(statuses_with_expect(port, "100-continue", "Content-Length: 10\r\n", "user=alice") == statuses{100, 200});
  CHECK(statuses_with_expect(port, "100-Continue", "Transfer-Encoding: chunked\r\n", chunk("user=alice") + "0\r\n\r\n") ==
        statuses{100, 200});
  // A declared body over the limit: the final answer without waiting for it.
  CHECK(statuses_with_expect(port, "100-continue", "Content-Length: 10000000\r\n", {}) == statuses{413});
  CHECK(statuses_with_expect(port, "something-else", "Content-Length: 10\r\n", "user=alice") == statuses{417});
  // A client that sends its body at once does not wait: no 100 for it.
  tcp_socket eager(port, 10s);
  eager.send_all("POST /api/v1/rtm.connect HTTP/1.1\r\nHost: kwm\r\nExpect: 100-continue\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nuser=alice");
  std::string buffer;
  const auto reply = read_http_reply(eager, buffer);
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
}
