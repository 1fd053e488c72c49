// Built-in TLS (D24): HTTPS and WSS on the main listener with a certificate made by the test,
// the connect, WebSocket, call and chat flows over it, the protocol settings (versions,
// ciphers, ALPN, renegotiation), plain HTTP and garbage refused, the startup checks of
// --tls-cert/--tls-key, reload on SIGHUP with live connections, the limits of D17/D20 for
// connections that never finish their handshake, and the HTTP framing rules of N2, Expect and
// streamed bodies over TLS.
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "net/tls_context.hpp"
#include "support/bystanders.hpp"
#include "support/hostile_client.hpp"
#include "support/process.hpp"
#include "support/rtm_peer.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_client.hpp"

using namespace kwm::test;

namespace {

const std::string binary = KWM_SERVER_BINARY;

// A certificate and key in files, as an operator has them.
struct pair_on_disk {
  explicit pair_on_disk(bool rsa = false) : certificate(make_test_certificate("kwm-test", rsa)) {
    write(certificate);
  }
  void write(const test_certificate& pair) const {
    dir.write("cert.pem", pair.certificate_pem);
    dir.write("key.pem", pair.key_pem);
  }
  std::string cert() const { return (dir.path / "cert.pem").string(); }
  std::string key() const { return (dir.path / "key.pem").string(); }
  std::vector<std::string> flags() const { return {"--tls-cert", cert(), "--tls-key", key()}; }

  temp_dir dir;
  test_certificate certificate;
};

kwm::app::runtime_options tls_options(const pair_on_disk& pair) {
  auto options = test_options();
  std::string error;
  options.server.tls = kwm::net::tls_context::open({pair.cert(), pair.key()}, error);
  REQUIRE_MESSAGE(options.server.tls, error);
  return options;
}

std::string member(const rapidjson::Value& value, const char* key) {
  if (!value.IsObject() || !value.HasMember(key) || !value[key].IsString()) return {};
  return value[key].GetString();
}

tls_client_options versions(int min, int max, bool allow_legacy = false) {
  tls_client_options options;
  options.min_version = min;
  options.max_version = max;
  options.allow_legacy = allow_legacy;
  return options;
}

// The handshake's failure reason, or 0 when it succeeded.
int refusal_reason(uint16_t port, const tls_client_options& options) {
  try {
    auto socket = tls_connect(port, options);
    return 0;
  } catch (const tls_handshake_error& e) {
    MESSAGE("refused as expected: " << std::string(e.what()));
    return e.reason == 0 ? -1 : e.reason;
  }
}

// Sends `bytes` and collects what comes back until the server closes the connection.
std::string answer_to(uint16_t port, const std::string& bytes) {
  tcp_socket socket(port);
  try {
    socket.send_all(bytes);
  } catch (const std::exception&) {
    // the server may close before it has read everything
  }
  std::string received;
  while (socket.receive_some(received)) {
  }
  CHECK_FALSE(socket.timed_out());
  return received;
}

bool pong_arrives(ws_client& ws, uint64_t id) {
  ws.send_text(R"({"type":"ping","id":)" + std::to_string(id) + "}");
  const auto text = ws.next_text(std::chrono::seconds(10));
  return text && *text == R"({"id":)" + std::to_string(id) + R"(,"type":"pong"})";
}

}  // namespace

TEST_CASE("tls: connect over HTTPS, then hello and pings over WSS on both API versions") {
  pair_on_disk pair;
  server_fixture server(tls_options(pair));
  auto socket = server.dial();
  const auto session = tls_info(socket);
  CHECK(session.alpn == "http/1.1");
  CHECK(session.version == "TLSv1.3");
  CHECK(session.peer_fingerprint == pair.certificate.fingerprint);
  const auto health = http_call_on(socket, "GET", "/health-check");
  CHECK(health.status == 200);
  for (bool v1 : {false, true}) {
    CAPTURE(v1);
    rtm_peer alice(server, "alice", v1);
    CHECK(alice.until_pong().empty());
    CHECK(alice.until_pong().empty());
  }
}

TEST_CASE(
    "tls: keep-alive requests, and a refused request answered before close_notify and the "
    "lingering close") {
  pair_on_disk pair;
  server_fixture server(tls_options(pair));
  auto socket = server.dial();
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    socket.send_all(build_http_request("GET", "/health-check", {}, {}, true));
    const auto reply = read_http_reply(socket, buffer);
    REQUIRE(reply.has_value());
    CHECK(reply->status == 200);
  }
  // 413 while the client is still sending its body: the answer must arrive whole.
  auto refused = server.dial();
  refused.send_all(
      "POST /api/kwm/v2/rtm/connect HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 200000\r\n\r\n" +
      std::string(100000, 'a'));
  std::string refused_buffer;
  const auto reply = read_http_reply(refused, refused_buffer);
  REQUIRE(reply.has_value());
  CHECK(reply->status == 413);
  CHECK(reply->body == "request body too large\n");
  CHECK(refused.wait_for_close(std::chrono::seconds(10)));
  // A client that ends with close_notify between requests gets the server's (RFC 8446 §6.1).
  CHECK(close_notify_answered(socket));
}

TEST_CASE("tls: a 1:1 call with signals and a group chat between two users over WSS") {
  pair_on_disk pair;
  server_fixture server(tls_options(pair));
  rtm_peer alice(server, "alice");
  rtm_peer bob(server, "bob");
  const auto call = answered_call(*alice.ws, *bob.ws, "bob", "alice");
  alice.send(signal_frame(call, "bob", 2, R"({"sdp":"offer"})"));
  const auto offer = bob.next_json();
  CHECK(member(offer, "subtype") == "webrtc_signal");
  CHECK(member(offer, "source") == "alice");
  CHECK(member(offer["data"], "sdp") == "offer");
  bob.send(signal_frame(call, "alice", 2, R"({"sdp":"answer"})"));
  CHECK(member(alice.next_json()["data"], "sdp") == "answer");

  alice.send(join_frame("tls-room", 3));
  CHECK(member(alice.next_json(), "channel") == "@tls-room");
  bob.send(join_frame("tls-room", 3));
  CHECK(member(bob.next_json(), "channel") == "@tls-room");
  CHECK(member(alice.next_json()["data"], "text") == "bob has joined the meeting.");
  alice.next_json();  // the new member list
  bob.send(
      R"({"type":"chats","subtype":"chats_message","id":4,"channel":"@tls-room","transaction":"",)"
      R"("v":20201201,"data":{"text":"over TLS"}})");
  CHECK(member(bob.next_json(), "subtype") == "chats_message");  // the echo
  const auto chat = alice.next_json();
  CHECK(member(chat, "subtype") == "chats_message");
  CHECK(member(chat["data"], "text") == "over TLS");
  CHECK(member(chat["data"], "sender") == "bob");
}

TEST_CASE("tls: plain HTTP, a WebSocket upgrade without TLS and garbage get no HTTP answer") {
  pair_on_disk pair;
  server_fixture server(tls_options(pair));
  const auto plain =
      answer_to(server.port(), build_http_request("GET", "/health-check", {}, {}, false));
  CHECK(plain.find("HTTP/") == std::string::npos);
  const auto upgrade = answer_to(
      server.port(),
      build_http_request("GET", "/api/kwm/v2/rtm/websocket/x",
                         {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}, {}, true));
  CHECK(upgrade.find("HTTP/") == std::string::npos);
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7919 % 251);
  CHECK(answer_to(server.port(), garbage).find("HTTP/") == std::string::npos);
  // The listener still serves TLS.
  CHECK(https_call(server.port(), "GET", "/health-check").status == 200);
}

TEST_CASE(
    "tls: ambiguous framing gets 400, Expect works, a long token list is streamed over HTTPS") {
  pair_on_disk pair;
  auto options = token_auth_options("0123456789abcdef0123456789abcdef-tls-key");
  std::string error;
  options.server.tls = kwm::net::tls_context::open({pair.cert(), pair.key()}, error);
  REQUIRE_MESSAGE(options.server.tls, error);
  options.admin_tokens->record_idle = std::chrono::minutes(5);
  server_fixture server(options);
  const std::string post =
      "POST /api/v1/rtm.connect HTTP/1.1\r\nHost: kwm\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\n";
  const std::string next = "GET /health-check HTTP/1.1\r\nHost: kwm\r\n\r\n";
  // N2: each is answered 400 and the connection closed (the request after it is not served).
  for (const std::string& request :
       {post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + next,
        post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + next,
        post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nuser=a" + next,
        std::string("GET /health-check HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") + next}) {
    CAPTURE(request);
    auto socket = server.dial();
    socket.send_all(request);
    std::string buffer;
    const auto reply = read_http_reply(socket, buffer);
    REQUIRE(reply.has_value());
    CHECK(reply->status == 400);
    CHECK(reply->body == "Bad Request\n");
    CHECK_FALSE(read_http_reply(socket, buffer).has_value());
  }
  // Expect: 100 Continue before the body, then the answer; a declared body over the limit and
  // an unknown expectation get their final answer at once.
  const std::string path = "/api/kwm/v2/admin/auth/tokens";
  const std::string token_request = R"({"type":"Token","sub":"expecting"})";
  const auto statuses = [&](const std::string& expectation, std::size_t length) {
    auto socket = server.dial();
    socket.send_all("POST " + path +
                    " HTTP/1.1\r\nHost: kwm\r\nContent-Type: application/json\r\nExpect: " +
                    expectation + "\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n");
    std::string buffer;
    std::vector<unsigned> seen;
    for (auto reply = read_http_reply(socket, buffer); reply;
         reply = read_http_reply(socket, buffer)) {
      seen.push_back(reply->status);
      if (reply->status != 100) break;
      socket.send_all(token_request);
    }
    return seen;
  };
  CHECK(statuses("100-continue", token_request.size()) == std::vector<unsigned>{100, 200});
  CHECK(statuses("100-continue", 10000000) == std::vector<unsigned>{413});
  CHECK(statuses("something-else", token_request.size()) == std::vector<unsigned>{417});
  // A list of tokens larger than a page goes out as chunks (N4), on a keep-alive connection.
  const std::vector<std::pair<std::string, std::string>> json = {
      {"Content-Type", "application/json"}};
  auto socket = server.dial();
  std::string buffer;
  for (int i = 0; i < 100; ++i) {
    socket.send_all(build_http_request("POST", path, json,
                                       R"({"type":"Token","sub":"s)" + std::to_string(100 + i) +
                                           R"(","claims":{"x":")" + std::string(1000, 'c') +
                                           R"("}})",
                                       true));
    const auto reply = read_http_reply(socket, buffer);
    REQUIRE(reply.has_value());
    REQUIRE(reply->status == 200);
  }
  socket.send_all(build_http_request("GET", path, {}, {}, true));
  const auto list = read_http_reply(socket, buffer);
  REQUIRE(list.has_value());
  CHECK(list->status == 200);
  CHECK(list->header("Transfer-Encoding") == std::optional<std::string>("chunked"));
  const auto parsed = parse_json(list->body);
  REQUIRE(parsed.IsArray());
  CHECK(parsed.Size() == 101);
  // The connection is still good for the next request.
  socket.send_all(build_http_request("GET", "/health-check", {}, {}, false));
  const auto after = read_http_reply(socket, buffer);
  REQUIRE(after.has_value());
  CHECK(after->status == 200);
}

TEST_CASE("tls: a slow consumer over WSS is closed with 1008 once its queue is full") {
  pair_on_disk pair;
  auto options = tls_options(pair);
  options.server.websocket.send_queue_bytes = 256 * 1024;
  options.server.socket_send_buffer_bytes = 16 * 1024;  // kernel buffers must not absorb the flood
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);
  rtm_peer bystander(server, "bob");
  tcp_socket small_window(server.port(), std::chrono::seconds(5), 8192);
  start_tls(small_window);
  const auto path = server.connect("alice");
  auto slow = std::make_unique<ws_client>(std::move(small_window), path);
  REQUIRE(slow->next_text().has_value());  // hello
  // Each ping is answered with a 64 KiB pong that the client does not read.
  const std::string ping = R"({"type":"ping","pad":")" + std::string(64 * 1024, 'x') + R"("})";
  try {
    for (int i = 0; i < 400; ++i) slow->send_text(ping);
  } catch (const std::exception&) {
    // The server stops reading once it has closed the connection.
  }
  const auto texts = read_until_close(*slow, std::chrono::seconds(20));
  CHECK(slow->close_code == std::optional<uint16_t>(1008));
  CHECK(slow->close_reason == "slow consumer");
  REQUIRE_FALSE(texts.empty());
  CHECK((texts.back() == R"({"type":"goodbye","server_status":null})"));
  CHECK(texts.size() < 400);
  CHECK(bystander.until_pong().empty());
}

TEST_CASE("tls: a forged record after the handshake ends only that connection") {
  pair_on_disk pair;
  server_fixture server(tls_options(pair));
  rtm_peer bystander(server, "bob");
  auto victim = server.open_after_hello("alice");
  // An application-data record whose authentication tag cannot be right, written on the
  // descriptor beside the client's TLS session.
  std::string record("\x17\x03\x03\x00\x40", 5);
  for (int i = 0; i < 64; ++i) record += static_cast<char>(i * 37);
  REQUIRE(::send(victim->socket.descriptor(), record.data(), record.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(record.size()));
  CHECK(victim->socket.wait_for_close(std::chrono::seconds(10)));
  CHECK(bystander.until_pong().empty());
}

TEST_CASE("tls: TLS 1.0/1.1, CBC suites, other ALPN protocols and renegotiation are refused") {
  pair_on_disk pair;
  server_fixture server(tls_options(pair));
  for (int old : {TLS1_VERSION, TLS1_1_VERSION}) {
    CAPTURE(old);
    const int reason = refusal_reason(server.port(), versions(old, old, true));
    CHECK(reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
  }
  auto cbc = versions(0, TLS1_2_VERSION, true);
  cbc.cipher_list = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384";
  CHECK(refusal_reason(server.port(), cbc) == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE);
  tls_client_options h2_only;
  h2_only.alpn = {"h2"};
  CHECK(refusal_reason(server.port(), h2_only) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);

  tls_client_options no_alpn;
  no_alpn.alpn.clear();
  CHECK(tls_info(tls_connect(server.port(), no_alpn)).alpn.empty());
  tls_client_options browser;
  browser.alpn = {"h2", "http/1.1"};
  CHECK(tls_info(tls_connect(server.port(), browser)).alpn == "http/1.1");

  // The client's preference decides (Mozilla intermediate): our list puts AES-128-GCM first.
  auto chacha_first = versions(0, TLS1_2_VERSION);
  chacha_first.cipher_list = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256";
  auto tls12 = tls_connect(server.port(), chacha_first);
  const auto session = tls_info(tls12);
  CHECK(session.version == "TLSv1.2");
  CHECK(session.cipher == "ECDHE-ECDSA-CHACHA20-POLY1305");
  CHECK_FALSE(renegotiate(tls12));
}

TEST_CASE("tls: an RSA certificate serves ECDHE and DHE suites (RFC 7919 group)") {
  pair_on_disk pair(true);
  server_fixture server(tls_options(pair));
  for (const char* suite :
       {"ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305"}) {
    CAPTURE(suite);
    auto options = versions(0, TLS1_2_VERSION);
    options.cipher_list = suite;
    auto socket = tls_connect(server.port(), options);
    CHECK(tls_info(socket).cipher == suite);
    CHECK(http_call_on(socket, "GET", "/health-check").status == 200);
  }
}

TEST_CASE("tls: --tls-cert and --tls-key come together, from flags, variables or the config file") {
  pair_on_disk pair;
  for (const auto& half : {std::vector<std::string>{"--tls-cert", pair.cert()},
                           std::vector<std::string>{"--tls-key", pair.key()}}) {
    std::vector<std::string> args = {binary, "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), half.begin(), half.end());
    const auto result = run_binary(args);
    CHECK(result.status == 2);
    CHECK(result.err.find("--tls-cert and --tls-key must be given together") != std::string::npos);
  }
  auto wait_loaded = [&](const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& env) {
    child_process server(args, env);
    const auto log = server.wait_for_stderr("msg=\"listening\"", std::chrono::seconds(20));
    REQUIRE(log.has_value());
    CHECK(log->find("msg=\"TLS certificate loaded\" subject=\"CN=kwm-test\"") != std::string::npos);
    server.send_signal(SIGTERM);
    CHECK(server.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
  };
  wait_loaded({binary, "serve", "--listen", "127.0.0.1:0"},
              {{"KWMSERVERD_TLS_CERT", pair.cert()}, {"KWMSERVERD_TLS_KEY", pair.key()}});
  pair.dir.write("kwmserverd.cfg", "listen = 127.0.0.1:0\ntls_cert = " + pair.cert() +
                                       "\ntls_key = " + pair.key() + "\n");
  wait_loaded({binary, "serve", "--config", (pair.dir.path / "kwmserverd.cfg").string()}, {});
}

TEST_CASE("tls: unusable certificate or key files are a startup failure with exit 1") {
  pair_on_disk pair;
  const auto other = make_test_certificate("other");
  pair.dir.write("garbage.pem", "not a certificate\n");
  pair.dir.write("other-key.pem", other.key_pem);
  pair.dir.write("encrypted-key.pem", encrypted_key(pair.certificate.key_pem, "secret"));
  const auto at = [&](const char* name) { return (pair.dir.path / name).string(); };
  struct bad_pair {
    std::string cert, key, message;
  };
  for (const auto& bad :
       {bad_pair{at("garbage.pem"), pair.key(), "cannot read the certificate chain"},
        bad_pair{at("missing.pem"), pair.key(), "cannot read the certificate chain"},
        bad_pair{pair.cert(), at("garbage.pem"), "cannot read the private key"},
        bad_pair{pair.cert(), at("other-key.pem"), "does not belong to the certificate"},
        bad_pair{pair.cert(), at("encrypted-key.pem"), "(encrypted keys are not supported)"}}) {
    CAPTURE(bad.cert);
    CAPTURE(bad.key);
    const auto result = run_binary(
        {binary, "serve", "--listen", "127.0.0.1:0", "--tls-cert", bad.cert, "--tls-key", bad.key});
    CHECK(result.status == 1);
    CHECK_MESSAGE(result.err.find("Error: TLS: ") != std::string::npos, result.err);
    CHECK_MESSAGE(result.err.find(bad.message) != std::string::npos, result.err);
  }
}

TEST_CASE(
    "tls: SIGHUP reloads the pair, live WSS connections keep going, a bad file keeps the old "
    "pair") {
  pair_on_disk pair;
  server_process server(pair.flags());
  REQUIRE(server.tls());
  auto live = server.open("alice");
  CHECK(tls_info(server.dial()).peer_fingerprint == pair.certificate.fingerprint);
  const auto loaded = [&](size_t times) {
    return eventually([&] {
      const auto log = server.log();
      size_t count = 0;
      for (auto at = log.find("TLS certificate loaded"); at != std::string::npos;
           at = log.find("TLS certificate loaded", at + 1))
        ++count;
      return count >= times;
    });
  };

  const auto second = make_test_certificate("second");
  pair.write(second);
  ::kill(server.pid(), SIGHUP);
  REQUIRE(loaded(2));
  CHECK(tls_info(server.dial()).peer_fingerprint == second.fingerprint);
  CHECK(pong_arrives(*live, 1));

  // A file that cannot be used: logged, and the second pair stays.
  pair.dir.write("cert.pem", "-----BEGIN CERTIFICATE-----\ntruncated\n");
  ::kill(server.pid(), SIGHUP);
  REQUIRE(eventually([&] {
    return server.log().find("TLS reload failed, keeping the previous certificate") !=
           std::string::npos;
  }));
  CHECK(tls_info(server.dial()).peer_fingerprint == second.fingerprint);
  // A certificate with a key that is not its own: the same.
  const auto third = make_test_certificate("third");
  pair.dir.write("cert.pem", third.certificate_pem);
  ::kill(server.pid(), SIGHUP);
  REQUIRE(eventually([&] {
    return server.log().find("does not belong to the certificate") != std::string::npos;
  }));
  CHECK(tls_info(server.dial()).peer_fingerprint == second.fingerprint);
  CHECK(pong_arrives(*live, 2));
  // A WebSocket opened after the reloads works too, and the live one never closed.
  auto later = server.open("bob");
  CHECK(pong_arrives(*later, 3));
  CHECK_FALSE(live->closed);
  CHECK(server.alive());
}

TEST_CASE("tls: handshakes that never finish are closed after --http-read-header-timeout") {
  pair_on_disk pair;
  auto flags = pair.flags();
  flags.insert(flags.end(), {"--http-read-header-timeout", "1"});
  server_process server(flags);
  const auto hello = client_hello();
  REQUIRE(hello.size() > 100);
  std::vector<tcp_socket> stalled;
  stalled.emplace_back(server.port());  // says nothing
  stalled.emplace_back(server.port());
  stalled.back().send_all(hello.substr(0, 30));  // part of a ClientHello
  stalled.emplace_back(server.port());
  stalled.back().send_all(hello);  // a whole ClientHello, then nothing
  for (size_t i = 0; i < stalled.size(); ++i) {
    CAPTURE(i);
    CHECK(stalled[i].wait_for_close(std::chrono::seconds(15)));
  }
  // A ClientHello trickled one byte at a time does not keep the connection either.
  std::vector<trickled> slow;
  slow.push_back({tcp_socket(server.port()), hello});
  const auto closed_after = trickle(slow, std::chrono::milliseconds(100), std::chrono::seconds(15));
  CHECK(closed_after[0].has_value());
  CHECK(https_call(server.port(), "GET", "/health-check").status == 200);
}

TEST_CASE(
    "tls: at --max-connections a connection still in its handshake makes room for a new client") {
  pair_on_disk pair;
  auto options = tls_options(pair);
  options.server.http.max_connections = 3;
  server_fixture server(options);
  const auto hello = client_hello();
  std::vector<tcp_socket> stalled;
  for (int i = 0; i < 3; ++i) {
    stalled.emplace_back(server.port());
    stalled.back().send_all(i == 0 ? std::string() : hello);
  }
  REQUIRE(eventually([&] { return server.runtime->open_connections() == 3; }));
  CHECK(https_call(server.port(), "GET", "/health-check").status == 200);
  CHECK(stalled[0].wait_for_close(std::chrono::seconds(5)));
  // A WebSocket over TLS is never evicted: with the table full of them, newcomers are refused.
  stalled.clear();
  REQUIRE(eventually([&] { return server.runtime->open_connections() == 0; }));
  std::vector<std::unique_ptr<rtm_peer>> sockets;
  for (const char* user : {"alice", "bob", "carol"}) {
    const auto path = server.connect(user);
    // The connect call's connection is gone before the WebSocket needs its place.
    REQUIRE(eventually([&] { return server.runtime->open_connections() == sockets.size(); }));
    sockets.push_back(
        std::make_unique<rtm_peer>(user, std::make_unique<ws_client>(server.dial(), path)));
  }
  REQUIRE(server.runtime->open_connections() == 3);
  tcp_socket refused(server.port());
  CHECK(refused.wait_for_close(std::chrono::seconds(5)));
  for (auto& peer : sockets) CHECK(peer->until_pong().empty());
}

TEST_CASE("tls: --max-connections-per-address counts connections in their handshake") {
  pair_on_disk pair;
  auto options = tls_options(pair);
  options.server.http.max_connections_per_address = 2;
  server_fixture server(options);
  std::vector<tcp_socket> stalled;
  for (int i = 0; i < 2; ++i) {
    stalled.emplace_back(server.port());
    stalled.back().send_all(client_hello());
  }
  REQUIRE(eventually([&] { return server.runtime->open_connections() == 2; }));
  tcp_socket over(server.port());
  CHECK(over.wait_for_close(std::chrono::seconds(5)));
  auto other_host = tcp_socket::connect_from("127.0.0.2", server.port());
  start_tls(other_host);
  CHECK(http_call_on(other_host, "GET", "/health-check").status == 200);
}

TEST_CASE(
    "tls: half-handshakes, garbage, huge ClientHellos and plain HTTP while WSS bystanders are "
    "served") {
  raise_descriptor_limit();
  pair_on_disk pair;
  auto flags = pair.flags();
  flags.insert(flags.end(), {"--http-read-header-timeout", "3"});
  server_process server(flags);
  bystanders calm(server, true);
  memory_budget budget(server, 48);
  calm.start();

  const auto hello = client_hello();
  std::vector<tcp_socket> half;
  for (int i = 0; i < 300 && !budget.exceeded(); ++i) {
    half.emplace_back(server.port());
    half.back().send_all(hello);
  }
  // A ClientHello that claims 16 MiB: OpenSSL refuses handshake messages this large.
  std::string huge = hello.substr(0, 5);
  huge[3] = 0x40, huge[4] = 0x00;              // a full 16 KiB record ...
  huge += std::string("\x01\xff\xff\xff", 4);  // ... of a ClientHello of 16 MiB - 1
  huge += std::string(16 * 1024 - 4, 'A');
  std::string more_records;
  for (int i = 0; i < 32; ++i)
    more_records += std::string("\x16\x03\x01\x40\x00", 5) + std::string(16 * 1024, 'B');

  std::atomic<int> huge_sent{0}, huge_closed{0}, plain_answered{0};
  attacker_thread huge_hellos(
      [&] {
        tcp_socket socket(server.port());
        ++huge_sent;
        try {
          socket.send_all(huge);
          socket.send_all(more_records);
        } catch (const std::exception&) {
          ++huge_closed;  // the server closed before the 528 KiB were sent
          return !budget.exceeded();
        }
        if (socket.wait_for_close(std::chrono::seconds(5))) ++huge_closed;
        return !budget.exceeded();
      },
      std::chrono::seconds(4));
  attacker_thread garbage(
      [&] {
        tcp_socket socket(server.port());
        socket.send_all(std::string(2048, '\x16'));
        socket.wait_for_close(std::chrono::seconds(5));
        return !budget.exceeded();
      },
      std::chrono::seconds(4));
  attacker_thread plain(
      [&] {
        tcp_socket socket(server.port());
        socket.send_all(build_http_request("POST", "/api/kwm/v2/rtm/connect", {}, "user=x", false));
        std::string answer;
        while (socket.receive_some(answer)) {
        }
        if (answer.find("HTTP/") != std::string::npos) ++plain_answered;
        return !budget.exceeded();
      },
      std::chrono::seconds(4));
  for (auto* attacker : {&huge_hellos, &garbage, &plain}) {
    attacker->join();
    CHECK(attacker->rounds() > 0);
    CHECK_MESSAGE(attacker->ended_by().empty(), attacker->ended_by());
  }
  CHECK(huge_closed.load() == huge_sent.load());
  CHECK(plain_answered.load() == 0);
  for (size_t i = 0; i < half.size(); ++i) {
    CAPTURE(i);
    CHECK(half[i].wait_for_close(std::chrono::seconds(3) + 2 * bystander_patience()));
  }
  CHECK(server.alive());
  calm.check("TLS half-handshakes");
  budget.check("TLS half-handshakes");
}

TEST_CASE("tls: healthcheck --scheme https checks a TLS listener") {
  pair_on_disk pair;
  server_process server(pair.flags());
  const auto host = "127.0.0.1:" + std::to_string(server.port());
  const auto insecure =
      run_binary({binary, "healthcheck", "--hostname", host, "--scheme", "https", "--insecure"});
  CHECK(insecure.status == 0);
  CHECK(insecure.out == "healthcheck successful\n");
  // The test's certificate is self-signed: without --insecure it is not trusted.
  const auto verified =
      run_binary({binary, "healthcheck", "--hostname", host, "--scheme", "https"});
  CHECK(verified.status == 1);
  CHECK(verified.err.rfind("Error: healthcheck request failed: ", 0) == 0);
  // Plain HTTP gets no answer from a TLS listener.
  CHECK(run_binary({binary, "healthcheck", "--hostname", host}).status == 1);
}

TEST_CASE("tls: without a certificate SIGHUP only says there is nothing to reload") {
  server_process server({});
  auto client = server.open("alice");
  ::kill(server.pid(), SIGHUP);
  REQUIRE(eventually(
      [&] { return server.log().find("SIGHUP: nothing to reload") != std::string::npos; }));
  CHECK(server.alive());
  CHECK(pong_arrives(*client, 1));
}
