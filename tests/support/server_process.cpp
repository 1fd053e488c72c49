#include "support/server_process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "support/server_fixture.hpp"
#include "support/tls_client.hpp"

namespace kwm::test {
namespace {

const std::string binary = KWM_SERVER_BINARY;

// The long flags `kwmserverd serve --help` lists, read once per test run.
const std::set<std::string>& known_flags() {
  static const std::set<std::string> flags = [] {
    std::set<std::string> names;
    const auto help = run_binary({binary, "serve", "--help"});
    static const std::regex flag(R"(--[a-z0-9][a-z0-9-]*)");
    for (std::sregex_iterator it(help.out.begin(), help.out.end(), flag), end; it != end; ++it)
      names.insert(it->str());
    return names;
  }();
  return flags;
}

bool allow_missing_flags() {
  const char* value = std::getenv("KWM_HOSTILE_ALLOW_MISSING_FLAGS");
  return value != nullptr && std::string(value) == "1";
}

// Splits off the flags the binary does not know (with their value, if the next word is one).
std::vector<std::string> without_unknown(const std::vector<std::string>& flags,
                                         std::vector<std::string>& missing) {
  std::vector<std::string> kept;
  for (size_t i = 0; i < flags.size(); ++i) {
    const auto& word = flags[i];
    const auto name = word.substr(0, word.find('='));
    if (word.rfind("--", 0) != 0 || known_flags().count(name) != 0) {
      kept.push_back(word);
      continue;
    }
    missing.push_back(name);
    if (word.find('=') == std::string::npos && i + 1 < flags.size() &&
        flags[i + 1].rfind("--", 0) != 0)
      ++i;
  }
  return kept;
}

// "exited with status N" or "was killed by signal N (name)", for a status from wait_exit.
std::string describe_exit(int status) {
  if (status > 128)
    return "was killed by signal " + std::to_string(status - 128) + " (" +
           ::strsignal(status - 128) + ")";
  return "exited with status " + std::to_string(status);
}

size_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoul(line.substr(field.size() + 1));
  return 0;
}

uint16_t logged_port(const std::string& log, const std::string& message) {
  std::smatch match;
  if (!std::regex_search(log, match, std::regex("msg=\"" + message + R"(" address=[^ \n]*:(\d+))")))
    return 0;
  return static_cast<uint16_t>(std::stoi(match[1]));
}

}  // namespace

bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}

void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

scoped_descriptor_limit::scoped_descriptor_limit(size_t soft) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  previous_ = limit.rlim_cur;
  limit.rlim_cur = soft;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

scoped_descriptor_limit::~scoped_descriptor_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = previous_;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

server_process::server_process(std::vector<std::string> flags) {
  auto kept = without_unknown(flags, missing_);
  if (!missing_.empty()) {
    std::string names;
    for (const auto& name : missing_) names += " " + name;
    if (!allow_missing_flags())
      FAIL("kwmserverd does not know"
           << names
           << " (issue 13 / spec D20 flags not built yet): this test needs them. "
              "KWM_HOSTILE_ALLOW_MISSING_FLAGS=1 runs the attack without them.");
    MESSAGE("KWM_HOSTILE_ALLOW_MISSING_FLAGS=1: running without" << names);
  }
  for (size_t i = 0; i < kept.size(); ++i)
    if (kept[i] == "--admin-tokens-key")
      token_auth_ = true;
    else if (kept[i] == "--tls-cert")
      tls_ = true;
  std::vector<std::string> args = {binary,        "serve",       "--listen",
                                   "127.0.0.1:0", "--log-level", "info"};
  args.insert(args.end(), kept.begin(), kept.end());
  std::vector<std::pair<std::string, std::string>> env;
  if (sanitized_build()) {
    // ASan keeps up to 256 MiB of freed memory in quarantine by default, which would read
    // as growth in every memory budget.
    const char* inherited = std::getenv("ASAN_OPTIONS");
    env.emplace_back("ASAN_OPTIONS", std::string(inherited ? inherited : "") +
                                         (inherited ? ":" : "") + "quarantine_size_mb=16");
  }
  child_ = std::make_unique<child_process>(args, env);
  std::string text;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(sanitized_build() ? 60 : 20);
  bool metrics = std::find(kept.begin(), kept.end(), "--with-metrics") != kept.end();
  while (std::chrono::steady_clock::now() < deadline) {
    child_->pump(std::chrono::milliseconds(20));
    port_ = logged_port(child_->err, "listening");
    metrics_port_ = logged_port(child_->err, "metrics listening");
    if (port_ != 0 && (!metrics || metrics_port_ != 0)) break;
    if (auto status = child_->wait_exit(std::chrono::milliseconds(0))) {
      std::ostringstream command;
      for (const auto& arg : args) command << arg << ' ';
      FAIL("kwmserverd refused to start (exit status " << *status << "): " << command.str() << "\n"
                                                       << child_->err);
    }
  }
  if (port_ == 0) FAIL("kwmserverd did not report a listening port in time:\n" << child_->err);
  pump_ = std::thread([this] { pump_output(); });
}

server_process::~server_process() {
  const std::string verdict = stop();
  if (!verdict.empty()) FAIL_CHECK(verdict);
}

std::string server_process::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (stopped_) return {};
    stopped_ = stopping_ = true;
  }
  if (pump_.joinable()) pump_.join();
  if (!child_) return {};
  if (!child_->wait_exit(std::chrono::milliseconds(0))) {
    child_->send_signal(SIGTERM);
    if (!child_->wait_exit(std::chrono::seconds(sanitized_build() ? 90 : 30))) {
      child_->send_signal(SIGKILL);
      child_->wait_exit(std::chrono::seconds(10));
      return "kwmserverd did not end within the drain time after SIGTERM and was killed:\n" +
             log_tail();
    }
  }
  while (child_->pump(std::chrono::milliseconds(0))) {
  }
  const auto status = child_->wait_exit(std::chrono::milliseconds(0));
  if (!status || *status == 0 || *status == 128 + SIGKILL) return {};
  return "kwmserverd " + describe_exit(*status) + " when stopped:\n" + log_tail();
}

std::string server_process::log_tail() const {
  const std::string& err = child_->err;
  constexpr std::size_t keep = 16 * 1024;
  return err.size() <= keep ? err : "[…]" + err.substr(err.size() - keep);
}

// The server's log must keep flowing: a full pipe would block the server on its next line.
void server_process::pump_output() {
  while (true) {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      if (stopping_) return;
      child_->pump(std::chrono::milliseconds(0));
      // Keep the log from growing without bound under floods: the head (startup) and tail stay.
      if (child_->err.size() > (8u << 20))
        child_->err.erase(1u << 20, child_->err.size() - (6u << 20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

pid_t server_process::pid() const {
  return child_->pid();
}

bool server_process::alive() {
  return !exit_status().has_value();
}

std::optional<int> server_process::exit_status() {
  std::lock_guard<std::mutex> guard(mutex_);
  return child_->wait_exit(std::chrono::milliseconds(0));
}

std::string server_process::state() {
  eventually([this] { return !alive(); }, std::chrono::milliseconds(300));
  const auto status = exit_status();
  return status ? describe_exit(*status) : "is alive";
}

std::string server_process::log() {
  std::lock_guard<std::mutex> guard(mutex_);
  return child_->err;
}

size_t server_process::rss_kib() {
  return alive() ? status_kib(pid(), "VmRSS") : 0;
}
size_t server_process::peak_rss_kib() {
  return alive() ? status_kib(pid(), "VmHWM") : 0;
}

double server_process::cpu_seconds() {
  if (!alive()) return 0;
  std::ifstream in("/proc/" + std::to_string(pid()) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // After the command name in parentheses: state is field 3; utime and stime are 14 and 15.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14) utime = std::stoull(field);
    if (n == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

tcp_socket server_process::dial(std::chrono::milliseconds timeout, int receive_buffer) {
  tcp_socket socket(port_, timeout, receive_buffer);
  if (tls_) start_tls(socket);
  return socket;
}

http_reply server_process::call(const std::string& method, const std::string& target,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::string& body) {
  try {
    auto socket = dial();
    return http_call_on(socket, method, target, headers, body);
  } catch (const std::exception& e) {
    FAIL(method << " " << target.substr(0, 80) << ": " << std::string(e.what()) << "; the server "
                << state());
  }
  return {};
}

http_reply server_process::connect(const std::string& user) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/x-www-form-urlencoded"}};
  if (token_auth_) {
    auto admin = dial();
    const auto issued = http_call_on(admin, "POST", "/api/kwm/v2/admin/auth/tokens",
                                     {{"Content-Type", "application/json"}},
                                     R"({"type":"Token","sub":")" + user + R"("})");
    if (issued.status != 200) return issued;
    headers.emplace_back("Authorization",
                         "Token " + std::string(parse_json(issued.body)["value"].GetString()));
  }
  auto socket = dial();
  return http_call_on(socket, "POST", "/api/kwm/v2/rtm/connect", headers, "user=" + user);
}

std::string server_process::connect_path(const std::string& user) {
  http_reply reply;
  try {
    reply = connect(user);
  } catch (const std::exception& e) {
    FAIL("connect as " << user << " failed (" << std::string(e.what()) << "); the server "
                       << state());
  }
  REQUIRE_MESSAGE(reply.status == 200,
                  "connect as " << user << ": " << reply.status << " " << reply.body);
  return url_of(reply);
}

std::unique_ptr<ws_client> server_process::open(const std::string& user, int receive_buffer) {
  std::unique_ptr<ws_client> client;
  try {
    const auto path = connect_path(user);
    client = std::make_unique<ws_client>(dial(std::chrono::seconds(5), receive_buffer), path);
  } catch (const std::exception& e) {
    FAIL("opening a WebSocket for " << user << " failed (" << std::string(e.what())
                                    << "); the server " << state());
  }
  REQUIRE_MESSAGE(client->is_open(), "WebSocket for " << user << ": " << client->handshake.status);
  const auto hello = client->next_text(std::chrono::seconds(10));
  REQUIRE_MESSAGE(hello.has_value(), "no hello for " << user);
  REQUIRE_MESSAGE(hello->rfind(R"({"type":"hello")", 0) == 0, *hello);
  return client;
}

memory_budget::memory_budget(server_process& server, size_t allowance_mib) : server_(server) {
  // Start the peak (VmHWM) afresh, so that only this attack counts.
  std::ofstream(std::string("/proc/") + std::to_string(server.pid()) + "/clear_refs") << "5";
  baseline_kib_ = server.rss_kib();
  const size_t scale = sanitized_build() ? 3 : 1;
  limit_kib_ = baseline_kib_ + allowance_mib * 1024 * scale;
}

bool memory_budget::exceeded() {
  const size_t now = server_.rss_kib();
  size_t highest = highest_sample_kib_;
  while (now > highest && !highest_sample_kib_.compare_exchange_weak(highest, now)) {
  }
  return server_.peak_rss_kib() > limit_kib_ || now > limit_kib_;
}

void memory_budget::check(const std::string& attack) {
  exceeded();
  const size_t peak = std::max(server_.peak_rss_kib(), highest_sample_kib_.load());
  const size_t after = server_.rss_kib();
  MESSAGE(attack << ": server RSS baseline " << baseline_kib_ / 1024 << " MiB, peak " << peak / 1024
                 << " MiB, after " << after / 1024 << " MiB, limit " << limit_kib_ / 1024
                 << " MiB");
  CHECK_MESSAGE(peak <= limit_kib_, attack << ": peak RSS " << peak / 1024
                                           << " MiB over the budget of " << limit_kib_ / 1024
                                           << " MiB");
  CHECK_MESSAGE(after <= limit_kib_, attack << ": RSS after the attack " << after / 1024
                                            << " MiB over " << limit_kib_ / 1024 << " MiB");
}

}  // namespace kwm::test
