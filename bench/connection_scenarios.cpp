// P3 (connect call + WebSocket upgrade + hello, `window` clients in parallel, each closing
// its socket and starting over) and P4 (RSS per idle connection).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "bench/report.hpp"
#include "bench/scenario.hpp"

namespace kwm::bench {
namespace {

// As a browser leaving the page: a close frame, the server's close frame (or EOF), then the
// socket. An abrupt close would make the original log a warning per connection and measure
// its logging instead.
void close_gracefully(link& connection) {
  std::string close_frame;
  append_frame(close_frame, 0x8, "\x03\xe8");  // status 1000
  send_blocking(connection, close_frame);
  frame_reader reader;
  read_until(connection, reader,
             [](std::string_view) { return false; });  // returns at the close frame or EOF
  connection.close();
}

}  // namespace

int connect_rate(settings& s) {
  latency_histogram latency;
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> resumed{0};  // WebSockets whose TLS session was resumed
  std::mutex mutex;
  const int clients = std::max(1, s.window);
  run_result r{"connect", 0, clients, "connects/s"};
  r.interval = start_measurement(s.server_pid, s.duration);
  const auto deadline = after_seconds(s.duration);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      latency_histogram local;
      frame_scanner scanner;
      frame_fields fields;
      for (uint64_t i = 0; clock_type::now() < deadline; ++i) {
        const auto begin = now_ns();
        auto target = s.target;
        const std::string user = "conn" + std::to_string(t) + "-" + std::to_string(i);
        target.authorization = authorization_for(s, user);
        auto connection = open_rtm_socket(target, user, static_cast<std::size_t>(t) + i);
        if (!connection.is_open()) {
          ++failures;
          continue;
        }
        if (connection.resumed()) ++resumed;
        frame_reader reader;
        if (read_until(connection, reader, [&](std::string_view text) {
              return scanner.scan(text, fields) && fields.kind == frame_kind::hello;
            }))
          local.add(now_ns() - begin);
        else
          ++failures;
        close_gracefully(connection);
      }
      std::lock_guard<std::mutex> guard(mutex);
      latency.merge(local);
    });
  for (auto& thread : threads) thread.join();
  r.interval.stop();
  r.count = latency.count();
  r.latency = &latency;
  r.extra = " failures=" + std::to_string(failures.load());
  if (s.target.tls) r.extra += " tls_resumed=" + std::to_string(resumed.load());
  print_result(r);
  if (failures > 0)
    std::fprintf(stderr, "connect: %llu attempts failed\n",
                 static_cast<unsigned long long>(failures.load()));
  return r.count > 0 ? 0 : 1;
}

int idle(settings& s) {
  if (s.server_pid <= 0) {
    std::fprintf(stderr, "--server-pid is required for the idle scenario\n");
    return 2;
  }
  const long before = rss_kib(s.server_pid);
  std::vector<std::string> users;
  for (int i = 0; i < s.connections; ++i) users.push_back("idle" + std::to_string(i));
  const auto started = clock_type::now();
  auto peers = open_peers(s, users);
  const double connect_seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server settle before reading RSS
  const long after = rss_kib(s.server_pid);
  const double per_connection = static_cast<double>(after - before) / s.connections;
  std::printf(
      "| scenario | conns  | RSS before KiB | RSS after KiB | KiB per connection | connected in s "
      "|\n");
  std::printf(
      "|----------|--------|----------------|---------------|--------------------|----------------|"
      "\n");
  std::printf("| idle     | %6d | %14ld | %13ld | %18.2f | %14.1f |\n", s.connections, before,
              after, per_connection, connect_seconds);
  std::printf(
      "result scenario=idle connections=%d rss_before_kib=%ld rss_after_kib=%ld "
      "kib_per_connection=%.2f "
      "connect_seconds=%.2f\n",
      s.connections, before, after, per_connection, connect_seconds);
  for (auto& p : peers) close_gracefully(p->connection);
  return 0;
}

}  // namespace kwm::bench
