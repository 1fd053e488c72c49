#pragma once
// A real redis-server for the cluster tests, started by the test itself: loopback only, on
// a free port, in its own temporary directory, without persistence (--save '' --appendonly
// no). It can be stopped, killed, paused and started again on the same port, for the
// "Redis unreachable" tests; the destructor always stops it and removes the directory.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/redis_reply.hpp"
#include "support/process.hpp"

struct redisContext;

namespace kwm::test {

struct redis_server_options {
  std::string password;  // --requirepass when set
  uint16_t first_port = 0;  // the port to try first (0: a free one); later tries take free ones
};

class redis_server {
 public:
  explicit redis_server(redis_server_options options = {});
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  uint16_t port() const { return port_; }
  // redis://127.0.0.1:<port> (with the password when one is set)
  std::string url() const;

  // SIGTERM and wait; SIGKILL if it does not exit within 10 s.
  void stop();
  // SIGKILL: a crash.
  void kill();
  // Starts again on the same port (empty: nothing was persisted).
  void start();
  // SIGSTOP / SIGCONT: a Redis that accepts connections but answers nothing.
  void pause();
  void resume();
  bool running() const { return process_ != nullptr; }

  // A blocking command on a fresh connection, for assertions (throws when Redis is down).
  cluster::redis_reply query(const std::vector<std::string>& args) const;

 private:
  bool launch();
  // Whether the redis-server answering on our port is ours (its directory is ours).
  bool serves_our_directory(redisContext* context) const;

  redis_server_options options_;
  std::string directory_;
  uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
  bool paused_ = false;
};

}  // namespace kwm::test
