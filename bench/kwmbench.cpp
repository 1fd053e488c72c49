// kwmbench: a load generator for kwm-compatible signaling servers. It connects through the
// real HTTP connect call, so it can be pointed at any implementation. Prints a table.
//
//   kwmbench --scenario ping|relay|connect|idle|group|soak [--host H --port P --v1]
//            [--auth anonymous|token|basic:<value>] [--connections N --window W --duration S]
//            [--members M --senders K] [--server-pid PID] [--sources 127.0.0.2,127.0.0.3]
#include <CLI/CLI.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/event_loop.hpp"
#include "bench/scenario.hpp"

namespace {

using namespace kwm::bench;

struct latencies {
  std::vector<uint64_t> samples;
  double percentile_ms(double p) {
    if (samples.empty()) return 0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
    std::nth_element(samples.begin(), samples.begin() + static_cast<long>(index), samples.end());
    return static_cast<double>(samples[index]) / 1e6;
  }
};
void print_row(const settings& s, const char* what, double per_second, latencies& l, const std::string& extra = "") {
  std::printf("| %-8s | %6d | %5d | %6.1f | %12.0f %-14s | %8.3f | %8.3f |%s\n", s.scenario.c_str(), s.connections,
              s.window, s.duration, per_second, what, l.percentile_ms(0.5), l.percentile_ms(0.99), extra.c_str());
}

void print_header() {
  std::printf("| scenario | conns  | window | secs  | throughput                  | p50 ms   | p99 ms   |\n");
  std::printf("|----------|--------|--------|-------|-----------------------------|----------|----------|\n");
}

int ping(settings& s) {
  std::vector<std::string> users;
  for (int i = 0; i < s.connections; ++i) users.push_back("ping" + std::to_string(i));
  auto peers = open_peers(s, users);
  loop l;
  latencies lat;
  uint64_t count = 0;
  auto ping_frame = [] { return encode_text_frame(R"({"type":"ping","t":)" + std::to_string(now_ns()) + "}"); };
  for (auto& p : peers) {
    l.add(*p);
    for (int w = 0; w < s.window; ++w) loop::send(*p, ping_frame());
  }
  l.run(after_seconds(s.duration),
        [&](peer& p, std::string_view text) {
          if (text.find("\"pong\"") == std::string_view::npos) return;
          lat.samples.push_back(now_ns() - number_after(text, "\"t\":"));
          ++count;
          loop::send(p, ping_frame());
        });
  print_header();
  print_row(s, "round trips/s", static_cast<double>(count) / s.duration, lat);
  return count > 0 ? 0 : 1;
}

int relay(settings& s) {
  const int pairs = std::max(1, s.connections / 2);
  std::vector<std::string> users;
  for (int i = 0; i < pairs; ++i) {
    users.push_back("caller" + std::to_string(i));
    users.push_back("callee" + std::to_string(i));
  }
  auto peers = open_peers(s, users);
  for (int i = 0; i < pairs; ++i) {  // a real call per pair
    auto& caller = *peers[2 * i];
    auto& callee = *peers[2 * i + 1];
    send_blocking(caller.fd, encode_text_frame(R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" +
                                               users[2 * i + 1] + R"(","initiator":true,"state":"cs","v":20180703})"));
    read_until(caller.fd, caller.reader, [&](std::string_view t) {
      if (t.find("webrtc_channel") == std::string_view::npos) return false;
      caller.channel = string_after(t, R"("channel":")");
      caller.hash = string_after(t, R"("hash":")");
      return true;
    });
    read_until(callee.fd, callee.reader, [](std::string_view t) { return t.find("webrtc_call") != std::string_view::npos; });
    send_blocking(callee.fd, encode_text_frame(R"({"type":"webrtc","subtype":"webrtc_call","id":1,"target":")" + users[2 * i] +
                                               R"(","state":"es","channel":")" + caller.channel + R"(","hash":")" +
                                               caller.hash + R"(","v":20180703,"data":{"accept":true,"state":"cs"}})"));
    read_until(caller.fd, caller.reader, [](std::string_view t) { return t.find("\"accept\":true") != std::string_view::npos; });
    caller.target = users[2 * i + 1];
    callee.target = users[2 * i];
    callee.channel = caller.channel;
    callee.hash = caller.hash;
    caller.state = "cs";
    callee.state = "es";
  }
  auto signal = [](const peer& p) {
    return encode_text_frame(R"({"type":"webrtc","subtype":"webrtc_signal","target":")" + p.target + R"(","state":")" +
                             p.state + R"(","channel":")" + p.channel + R"(","hash":")" + p.hash +
                             R"(","v":20180703,"data":{"t":)" + std::to_string(now_ns()) + "}}");
  };
  loop l;
  latencies lat;
  uint64_t count = 0;
  for (auto& p : peers) {
    l.add(*p);
    for (int w = 0; w < s.window; ++w) loop::send(*p, signal(*p));
  }
  l.run(after_seconds(s.duration),
        [&](peer& p, std::string_view text) {
          if (text.find("webrtc_signal") == std::string_view::npos) return;
          lat.samples.push_back(now_ns() - number_after(text, "\"t\":"));
          ++count;
          loop::send(p, signal(p));
        });
  print_header();
  print_row(s, "relayed msgs/s", static_cast<double>(count) / s.duration, lat);
  return count > 0 ? 0 : 1;
}

int connect_rate(settings& s) {
  latencies lat;
  std::atomic<uint64_t> count{0};
  std::mutex mutex;
  const auto deadline = after_seconds(s.duration);
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, s.window); ++t)
    threads.emplace_back([&, t] {
      std::vector<uint64_t> local;
      for (uint64_t i = 0; clock_type::now() < deadline; ++i) {
        const auto begin = now_ns();
        auto target = s.target;
        const std::string user = "conn" + std::to_string(t) + "-" + std::to_string(i);
        target.authorization = authorization_for(s, user);
        const int fd = open_rtm_socket(target, user, static_cast<std::size_t>(t) + i);
        if (fd < 0) continue;
        frame_reader reader;
        if (read_until(fd, reader, [](std::string_view text) { return text.find("\"hello\"") != std::string_view::npos; }))
          local.push_back(now_ns() - begin);
        ::close(fd);
      }
      std::lock_guard<std::mutex> guard(mutex);
      lat.samples.insert(lat.samples.end(), local.begin(), local.end());
    });
  for (auto& thread : threads) thread.join();
  count = lat.samples.size();
  print_header();
  print_row(s, "connects/s", static_cast<double>(count) / s.duration, lat);
  return count > 0 ? 0 : 1;
}

int idle(settings& s) {
  if (s.server_pid <= 0) {
    std::fprintf(stderr, "--server-pid is required for the idle scenario\n");
    return 2;
  }
  const long before = rss_kib(s.server_pid);
  std::vector<std::string> users;
  for (int i = 0; i < s.connections; ++i) users.push_back("idle" + std::to_string(i));
  auto peers = open_peers(s, users);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server settle before reading RSS
  const long after = rss_kib(s.server_pid);
  std::printf("| scenario | conns  | RSS before KiB | RSS after KiB | KiB per connection |\n");
  std::printf("|----------|--------|----------------|---------------|--------------------|\n");
  std::printf("| idle     | %6d | %14ld | %13ld | %18.2f |\n", s.connections, before, after,
              static_cast<double>(after - before) / s.connections);
  for (auto& p : peers) ::close(p->fd);
  return 0;
}

int group(settings& s) {
  std::vector<std::string> users;
  for (int i = 0; i < s.members; ++i) users.push_back("member" + std::to_string(i));
  auto peers = open_peers(s, users);
  for (auto& p : peers) {
    send_blocking(p->fd, encode_text_frame(R"({"type":"webrtc","subtype":"webrtc_group","id":1,"target":"bench","group":"bench","state":"s","v":20180703})"));
    read_until(p->fd, p->reader, [](std::string_view t) { return t.find("\"reply_to\":1") != std::string_view::npos; });
  }
  auto chat = [] {
    return encode_text_frame(R"({"type":"chats","subtype":"chats_message","id":2,"channel":"@bench","v":20201201,"data":{"text":"t=)" +
                             std::to_string(now_ns()) + R"("}})");
  };
  loop l;
  latencies lat;
  uint64_t deliveries = 0;
  const int senders = std::min(s.senders, s.members);
  for (int i = 0; i < s.members; ++i) {
    l.add(*peers[i]);
    if (i < senders)
      for (int w = 0; w < s.window; ++w) loop::send(*peers[i], chat());
  }
  l.run(after_seconds(s.duration),
        [&](peer& p, std::string_view text) {
          if (text.find("\"chats_message\"") == std::string_view::npos) return;
          if (text.find("\"reply_to\"") != std::string_view::npos) {  // the sender's echo: send the next one
            loop::send(p, chat());
            return;
          }
          lat.samples.push_back(now_ns() - number_after(text, "t="));
          ++deliveries;
        });
  s.connections = s.members;
  s.window = senders;
  print_header();
  print_row(s, "deliveries/s", static_cast<double>(deliveries) / s.duration, lat, " (window column = senders)");
  return deliveries > 0 ? 0 : 1;
}

}  // namespace

namespace kwm::bench {

std::string authorization_for(const settings& s, const std::string& user) {
  if (s.auth == "token") return admin_token_for(s.target, user);
  if (s.auth.rfind("basic:", 0) == 0) return "Basic " + s.auth.substr(6);
  return {};
}

std::vector<std::unique_ptr<peer>> open_peers(settings& s, const std::vector<std::string>& users) {
  std::vector<std::unique_ptr<peer>> peers;
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto target = s.target;
    target.authorization = authorization_for(s, users[i]);
    auto p = std::make_unique<peer>();
    p->fd = open_rtm_socket(target, users[i], i);
    if (p->fd < 0) {
      std::fprintf(stderr, "connect failed for %s\n", users[i].c_str());
      std::exit(1);
    }
    read_until(p->fd, p->reader, [](std::string_view t) { return t.find("\"hello\"") != std::string_view::npos; });
    peers.push_back(std::move(p));
  }
  return peers;
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

long open_fds(int pid) {
  std::error_code error;
  long count = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", error), end; !error && it != end;
       it.increment(error))
    ++count;
  return error ? -1 : count;
}

}  // namespace kwm::bench

int main(int argc, char** argv) {
  settings s;
  std::string sources;
  CLI::App app{"kwmbench: load generator for kwm signaling servers"};
  app.add_option("--scenario", s.scenario, "ping, relay, connect, idle, group or soak")
      ->check(CLI::IsMember({"ping", "relay", "connect", "idle", "group", "soak"}));
  app.add_option("--host", s.target.host, "server address (IPv4)");
  app.add_option("--port", s.target.port, "server port");
  app.add_flag("--v1", s.target.v1, "use the /api/v1 paths");
  app.add_option("--auth", s.auth, "anonymous, token (via the admin API) or basic:<header value>");
  auto* connections = app.add_option("--connections", s.connections, "connections (relay: 2 per pair; idle, soak: 10000)");
  auto* window = app.add_option("--window", s.window,
                                "messages in flight per connection (connect: parallel clients; soak: calls in flight)");
  app.add_option("--duration", s.duration, "seconds of measurement");
  app.add_option("--members", s.members, "group: members");
  app.add_option("--senders", s.senders, "group: members that send");
  app.add_option("--server-pid", s.server_pid, "idle, soak: the server's pid, for its RSS and descriptors");
  app.add_option("--sample-every", s.sample_every, "soak: seconds between samples");
  app.add_option("--sources", sources, "comma-separated local source addresses (127.0.0.x)");
  CLI11_PARSE(app, argc, argv);
  if ((s.scenario == "idle" || s.scenario == "soak") && connections->count() == 0) s.connections = 10000;
  if (s.scenario == "soak" && window->count() == 0) s.window = 20;
  for (std::size_t start = 0; !sources.empty() && start <= sources.size();) {
    const auto comma = sources.find(',', start);
    s.target.sources.push_back(sources.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (s.scenario == "ping") return ping(s);
  if (s.scenario == "relay") return relay(s);
  if (s.scenario == "connect") return connect_rate(s);
  if (s.scenario == "idle") return idle(s);
  if (s.scenario == "soak") return soak(s);
  return group(s);
}
