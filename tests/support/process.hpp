#pragma once
// Runs the real kwmserverd binary as a child process (CLI and signal tests).
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kwm::test {

class child_process {
 public:
  // `die_with_parent`: the kernel kills the child when the thread that started it ends, so
  // a crashed test leaves no server behind (start it from a thread that lives long enough).
  explicit child_process(const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& env = {},
                         const std::string& working_directory = {}, bool die_with_parent = false);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Reads output until stderr contains `needle`; returns the whole stderr text so far.
  std::optional<std::string> wait_for_stderr(const std::string& needle,
                                             std::chrono::milliseconds timeout);
  // Waits for the exit and returns the exit status (128 + signal when killed).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  void send_signal(int signal);
  // Reads what the child wrote within `timeout` into out/err; false when nothing came.
  bool pump(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

  std::string out;  // stdout so far
  std::string err;  // stderr so far

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::optional<int> status_;
};

// Runs to completion and returns {exit status, stdout, stderr}.
struct run_result {
  int status = -1;
  std::string out;
  std::string err;
};
run_result run_binary(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace kwm::test
