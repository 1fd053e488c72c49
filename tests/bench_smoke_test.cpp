// kwmbench keeps working: its frame parsing reads both servers' JSON (ours compact, the
// original pretty-printed with tabs and split into fragments above ~1 KiB), and a quick run
// of every scenario counts messages, against our server and, where its binary is present,
// the original. Nothing about speed is asserted here; bench/compare.sh and
// docs/performance.md do that.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "bench/frame_fields.hpp"
#include "bench/rtm_client.hpp"
#include "support/process.hpp"
#include "support/server_fixture.hpp"

using namespace kwm::test;
using kwm::bench::frame_fields;
using kwm::bench::frame_kind;
using kwm::bench::frame_scanner;

namespace {

// The key=value pairs of kwmbench's `result` line.
std::map<std::string, std::string> result_of(const std::string& out) {
  std::map<std::string, std::string> fields;
  const auto at = out.find("\nresult ");
  if (at == std::string::npos) return fields;
  std::istringstream line(out.substr(at + 8, out.find('\n', at + 1) - at - 8));
  std::string pair;
  while (line >> pair)
    if (const auto eq = pair.find('='); eq != std::string::npos)
      fields[pair.substr(0, eq)] = pair.substr(eq + 1);
  return fields;
}

double number(const std::map<std::string, std::string>& fields, const std::string& key) {
  const auto it = fields.find(key);
  return it == fields.end() ? -1 : std::strtod(it->second.c_str(), nullptr);
}

// Runs one short kwmbench scenario and checks it counted messages.
void check_scenario(const std::vector<std::string>& common,
                    const std::vector<std::string>& scenario) {
  std::string joined;
  for (const auto& arg : scenario) joined += arg + " ";
  CAPTURE(joined);
  std::vector<std::string> args = common;
  args.insert(args.end(), scenario.begin(), scenario.end());
  const auto result = run_binary(args, std::chrono::seconds(60));
  CAPTURE(result.out);
  CAPTURE(result.err);
  CHECK(result.status == 0);
  const auto fields = result_of(result.out);
  if (scenario[1] == "idle") {
    CHECK(number(fields, "rss_after_kib") > 0);
  } else {
    CHECK(number(fields, "count") > 0);
    CHECK(number(fields, "closed") == 0);
    CHECK(number(fields, "client_us_per_msg") >= 0);
  }
}

const std::vector<std::vector<std::string>> short_runs = {
    {"--scenario", "ping", "--connections", "4", "--window", "2"},
    {"--scenario", "ping", "--connections", "1", "--window", "1"},
    {"--scenario", "relay", "--connections", "4", "--window", "2"},
    // 60 members: the original's member lists then exceed 1 KiB and arrive fragmented.
    {"--scenario", "group", "--members", "60", "--senders", "2", "--window", "2"},
    {"--scenario", "connect", "--window", "2"},
};

uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A server frame (unmasked) with the given first byte (FIN bit and opcode).
std::string server_frame(unsigned char first_byte, std::string_view payload) {
  std::string frame(1, static_cast<char>(first_byte));
  frame += static_cast<char>(payload.size());  // short payloads only
  frame += payload;
  return frame;
}

}  // namespace

TEST_CASE("kwmbench reads the original server's pretty-printed frames") {
  frame_scanner scanner;
  frame_fields f;

  // Frames as the original (Go, json.MarshalIndent) sends them; relay and group counted 0
  // with the earlier substring matching ("reply_to":1, "accept":true, "t":).
  REQUIRE(scanner.scan("{\n\t\"t\": 123456789,\n\t\"type\": \"pong\"\n}", f));
  CHECK(f.kind == frame_kind::pong);
  CHECK(f.t == 123456789);

  REQUIRE(
      scanner.scan("{\n\t\"type\": \"webrtc\",\n\t\"subtype\": "
                   "\"webrtc_channel\",\n\t\"reply_to\": 1,\n\t\"channel\": "
                   "\"*ZSxeKaVh\",\n\t\"hash\": \"PD8+QGtx=\",\n\t\"v\": 20180703\n}",
                   f));
  CHECK(f.kind == frame_kind::webrtc_channel);
  CHECK(f.has_reply_to);
  CHECK(f.reply_to == 1);
  CHECK(f.channel == "*ZSxeKaVh");
  CHECK(f.hash == "PD8+QGtx=");

  REQUIRE(
      scanner.scan("{\n\t\"type\": \"webrtc\",\n\t\"subtype\": \"webrtc_call\",\n\t\"target\": "
                   "\"alice\",\n\t\"source\": "
                   "\"bob\",\n\t\"profile\": {},\n\t\"state\": \"es\",\n\t\"v\": "
                   "20180703,\n\t\"data\": {\n\t\t\"accept\": "
                   "true,\n\t\t\"state\": \"cs\"\n\t}\n}",
                   f));
  CHECK(f.kind == frame_kind::webrtc_call);
  CHECK(f.accept);
  CHECK_FALSE(f.has_reply_to);

  REQUIRE(
      scanner.scan("{\n\t\"type\": \"webrtc\",\n\t\"subtype\": \"webrtc_signal\",\n\t\"target\": "
                   "\"bob\",\n\t\"data\": "
                   "{\n\t\t\"t\": 5\n\t}\n}",
                   f));
  CHECK(f.kind == frame_kind::webrtc_signal);
  CHECK(f.data_t == 5);
  CHECK(f.t == 0);

  REQUIRE(
      scanner.scan("{\n\t\"type\": \"chats\",\n\t\"subtype\": \"chats_message\",\n\t\"channel\": "
                   "\"@bench\",\n\t\"data\": "
                   "{\n\t\t\"kind\": \"\",\n\t\t\"sender\": \"m3\",\n\t\t\"text\": \"s=3 n=17 "
                   "t=99\",\n\t\t\"id\": "
                   "\"3UJB\"\n\t}\n}",
                   f));
  CHECK(f.kind == frame_kind::chats_message);
  CHECK(f.stamp.present);
  CHECK(f.stamp.sender == 3);
  CHECK(f.stamp.sequence == 17);
  CHECK(f.stamp.sent_ns == 99);

  REQUIRE(
      scanner.scan("{\n\t\"type\": \"webrtc\",\n\t\"subtype\": \"webrtc_channel\",\n\t\"data\": "
                   "{\n\t\t\"group\": "
                   "{\n\t\t\t\"group\": \"bench\",\n\t\t\t\"members\": "
                   "[\n\t\t\t\t\"bob\",\n\t\t\t\t\"alice\"\n\t\t\t],\n\t\t\t"
                   "\"reset\": false\n\t\t}\n\t}\n}",
                   f));
  CHECK(f.group_members == 2);

  // Ours: compact, other key order; the same fields.
  REQUIRE(scanner.scan(R"({"type":"pong","t":42})", f));
  CHECK(f.kind == frame_kind::pong);
  CHECK(f.t == 42);
}

TEST_CASE("kwmbench's frame scanner refuses what is not one JSON object, without crashing") {
  frame_scanner scanner;
  frame_fields f;
  CHECK_FALSE(scanner.scan("", f));
  CHECK_FALSE(scanner.scan("[1,2]", f));
  CHECK_FALSE(scanner.scan(R"({"type":"pong"} {"type":"pong"})", f));  // two objects in one frame
  CHECK_FALSE(scanner.scan(R"({"type":"pong")", f));
  // Deep nesting (iterative parse, no recursion) and numbers RapidJSON 1.1 cannot convert
  // (kept as text) are harmless.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_FALSE(scanner.scan(deep, f));
  CHECK(scanner.scan(R"({"t":1e-2147483649,"data":{"t":18446744073709551616}})", f));
  CHECK(f.t == 0);
  CHECK(f.data_t == 0);
  CHECK_FALSE(scanner.scan(R"({"t":)" + std::string(5000, '9') + "}", f));  // refused as too big
  // Embedded text of the bench's own that does not match is no stamp.
  CHECK_FALSE(kwm::bench::parse_chat_stamp("s=1 n=2").present);
  CHECK_FALSE(kwm::bench::parse_chat_stamp("s=1 n=2 t=3 x").present);
}

TEST_CASE("kwmbench's frame reader joins fragmented text messages and answers pings between them") {
  kwm::bench::frame_reader reader;
  std::vector<std::string> texts;
  std::string pongs;
  const std::string stream = server_frame(0x01, "{\"type\": ") + server_frame(0x89, "p") +
                             server_frame(0x00, "\"pong\", ") + server_frame(0x80, "\"t\": 7}") +
                             server_frame(0x81, "{\"type\":\"hello\"}");
  // Byte by byte, so that every header and payload also arrives split.
  for (char byte : stream)
    CHECK(reader.feed(
        &byte, 1, [&](std::string_view text) { texts.emplace_back(text); }, pongs));
  REQUIRE(texts.size() == 2);
  CHECK(texts[0] == "{\"type\": \"pong\", \"t\": 7}");
  CHECK(texts[1] == "{\"type\":\"hello\"}");
  CHECK(pongs.size() == 2 + 4 + 1);  // one masked pong echoing "p"
  CHECK(static_cast<unsigned char>(pongs[0]) == 0x8A);
}

TEST_CASE("kwmbench runs every scenario against the server") {
  auto options = test_options();
  options.rtm.connection.rate_limit.tokens_per_second = 0;
  server_fixture server(options);
  const std::vector<std::string> common = {KWM_BENCH_BINARY,
                                           "--port",
                                           std::to_string(server.port()),
                                           "--duration",
                                           "0.5",
                                           "--server-pid",
                                           std::to_string(::getpid())};
  for (const auto& run : short_runs) check_scenario(common, run);
  check_scenario(common, {"--scenario", "idle", "--connections", "4"});
}

// The regression behind the parser: against the original, relay counted 0. Needs the original
// binary (KWM_ORIGINAL_SERVER, default ../shared/peer/kwmserverd-2.0 beside the
// repository); skipped without it.
TEST_CASE("kwmbench counts messages against the original Go server") {
  const char* configured = std::getenv("KWM_ORIGINAL_SERVER");
  const std::string binary =
      configured != nullptr ? configured : KWM_SOURCE_DIR "/../shared/peer/kwmserverd-2.0";
  if (!std::filesystem::exists(binary)) {
    MESSAGE("skipped: no original server at " << binary << " (set KWM_ORIGINAL_SERVER)");
    return;
  }
  const auto directory =
      std::filesystem::temp_directory_path() / ("kwmbench-original-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  std::ofstream(directory / "admin.key") << std::string(32, 'k');
  std::ofstream(directory / "basic.txt") << "cGVlcjpwZWVy\n";
  const auto port = std::to_string(unused_port());
  {
    child_process original(
        {binary, "serve", "--listen", "127.0.0.1:" + port, "--admin-tokens-key",
         (directory / "admin.key").string(), "--enable-auth-basic", "--auth-basic-values",
         (directory / "basic.txt").string(), "--log-level", "error"},
        {{"KOPANO_SURVEYCLIENT_AUTOSURVEY", "no"}}, directory.string());
    REQUIRE(eventually(
        [&] {
          try {
            return connect_with(static_cast<uint16_t>(std::stoi(port)), "Basic cGVlcjpwZWVy",
                                "ready")
                       .status == 200;
          } catch (const std::exception&) {
            return false;  // not listening yet
          }
        },
        std::chrono::seconds(20)));
    const std::vector<std::string> common = {
        KWM_BENCH_BINARY, "--port", port, "--duration", "0.5", "--auth", "basic:cGVlcjpwZWVy"};
    for (const auto& run : short_runs) check_scenario(common, run);
    original.send_signal(SIGTERM);
    original.wait_exit(std::chrono::seconds(10));
  }
  std::filesystem::remove_all(directory);
}
