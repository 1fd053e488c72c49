#include "support/redis_server.hpp"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "cluster/detail/hiredis_reply.hpp"

namespace kwm::test {
namespace {

std::string redis_server_binary() {
  if (const char* configured = std::getenv("KWM_REDIS_SERVER")) return configured;
  return "/usr/bin/redis-server";
}

// A port the kernel just handed out; redis binds it a moment later (a rare collision
// with another process makes launch() fail and we try another).
uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

struct context_closer {
  void operator()(redisContext* context) const { redisFree(context); }
};
using context_pointer = std::unique_ptr<redisContext, context_closer>;

context_pointer connect_to(uint16_t port) {
  const timeval timeout{2, 0};
  context_pointer context(redisConnectWithTimeout("127.0.0.1", port, timeout));
  if (!context || context->err != 0) return nullptr;
  redisSetTimeout(context.get(), timeout);
  return context;
}

}  // namespace

bool redis_server::serves_our_directory(redisContext* context) const {
  if (!options_.password.empty()) {
    auto* auth =
        static_cast<redisReply*>(redisCommand(context, "AUTH %s", options_.password.c_str()));
    if (auth == nullptr) return false;
    freeReplyObject(auth);
  }
  auto* reply = static_cast<redisReply*>(redisCommand(context, "CONFIG GET dir"));
  if (reply == nullptr) return false;
  std::error_code ignored;
  const bool ours =
      reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
      reply->element[1]->type == REDIS_REPLY_STRING &&
      std::filesystem::equivalent(std::string(reply->element[1]->str, reply->element[1]->len),
                                  directory_, ignored);
  freeReplyObject(reply);
  return ours;
}

redis_server::redis_server(redis_server_options options) : options_(std::move(options)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "kwm-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = attempt == 0 && options_.first_port != 0 ? options_.first_port : free_loopback_port();
    if (launch()) return;
  }
  throw std::runtime_error("redis-server did not start (see " + directory_ + "/redis.log)");
}

redis_server::~redis_server() {
  try {
    if (paused_) resume();
    stop();
  } catch (...) {
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string redis_server::url() const {
  const std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_);
}

bool redis_server::launch() {
  std::vector<std::string> args = {redis_server_binary(),
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   directory_,
                                   "--logfile",
                                   directory_ + "/redis.log",
                                   "--daemonize",
                                   "no"};
  if (!options_.password.empty()) {
    args.push_back("--requirepass");
    args.push_back(options_.password);
  }
  process_ = std::make_unique<child_process>(args, std::vector<std::pair<std::string, std::string>>{},
                                             std::string(), true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_->wait_exit(std::chrono::milliseconds(0))) {  // exited: the port was taken
      process_.reset();
      return false;
    }
    if (auto context = connect_to(port_)) {
      auto* reply = static_cast<redisReply*>(redisCommand(context.get(), "PING"));
      const bool answered = reply != nullptr;  // PONG, or NOAUTH with a password: both mean up
      if (reply) freeReplyObject(reply);
      if (answered) {
        if (serves_our_directory(context.get())) return true;
        // Another test's redis-server took the port between our probe and our launch (its
        // nodes and ours would share one Redis): ours exits, try another port.
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  process_.reset();
  return false;
}

void redis_server::stop() {
  if (!process_) return;
  if (paused_) resume();
  process_->send_signal(SIGTERM);
  if (!process_->wait_exit(std::chrono::seconds(10))) process_->send_signal(SIGKILL);
  process_->wait_exit(std::chrono::seconds(10));
  process_.reset();
}

void redis_server::kill() {
  if (!process_) return;
  process_->send_signal(SIGKILL);
  process_->wait_exit(std::chrono::seconds(10));
  process_.reset();
  paused_ = false;
}

void redis_server::start() {
  if (process_) return;
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (launch()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the old socket lingers
  }
  throw std::runtime_error("redis-server did not start again on port " + std::to_string(port_));
}

void redis_server::pause() {
  if (!process_ || paused_) return;
  process_->send_signal(SIGSTOP);
  paused_ = true;
  // The signal is asynchronous: wait until the process really is stopped ('T' in stat).
  const std::string stat_path = "/proc/" + std::to_string(process_->pid()) + "/stat";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream stat(stat_path);
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'T') return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw std::runtime_error("redis-server did not stop on SIGSTOP");
}

void redis_server::resume() {
  if (!process_ || !paused_) return;
  process_->send_signal(SIGCONT);
  paused_ = false;
}

cluster::redis_reply redis_server::query(const std::vector<std::string>& args) const {
  auto context = connect_to(port_);
  if (!context) throw std::runtime_error("cannot connect to redis");
  auto run = [&](const std::vector<std::string>& command) {
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    for (const auto& arg : command) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(redisCommandArgv(
        context.get(), static_cast<int>(command.size()), pointers.data(), lengths.data()));
    if (reply == nullptr) throw std::runtime_error("redis query failed");
    cluster::redis_reply out = cluster::detail::to_reply(*reply);
    freeReplyObject(reply);
    return out;
  };
  if (!options_.password.empty()) run({"AUTH", options_.password});
  return run(args);
}

}  // namespace kwm::test
