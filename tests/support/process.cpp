#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

extern char** environ;
#include <stdexcept>

namespace kwm::test {

child_process::child_process(const std::vector<std::string>& args,
                             const std::vector<std::pair<std::string, std::string>>& env,
                             const std::string& working_directory, bool die_with_parent) {
  // Everything the child needs is prepared before fork: between fork and exec a child of
  // a multi-threaded process may only make async-signal-safe calls (no malloc).
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto name = text.substr(0, text.find('='));
    bool overridden = false;
    for (const auto& [key, value] : env) overridden = overridden || key == name;
    if (!overridden) environment.emplace_back(text);
  }
  for (const auto& [key, value] : env) environment.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const char* directory = working_directory.empty() ? nullptr : working_directory.c_str();

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    // The child must not keep the test's sockets open: a client socket the test closes
    // would stay connected through the child's copy, and the server would never see it end.
    ::close_range(3, ~0U, 0);
    if (directory != nullptr && ::chdir(directory) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

child_process::~child_process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool child_process::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  const int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (ready <= 0) return false;
  bool any = false;
  char chunk[4096];
  for (int i = 0; i < 2; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP)) == 0 || fds[i].fd < 0) continue;
    const auto n = ::read(fds[i].fd, chunk, sizeof chunk);
    if (n > 0) {
      (i == 0 ? out : err).append(chunk, static_cast<size_t>(n));
      any = true;
    } else {
      ::close(fds[i].fd);
      (i == 0 ? out_fd_ : err_fd_) = -1;
    }
  }
  return any;
}

std::optional<std::string> child_process::wait_for_stderr(const std::string& needle,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (err.find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline || (out_fd_ < 0 && err_fd_ < 0))
      return std::nullopt;
    pump(std::chrono::milliseconds(50));
  }
  return err;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    pump(std::chrono::milliseconds(20));
  }
  while (out_fd_ >= 0 || err_fd_ >= 0)
    if (!pump(std::chrono::milliseconds(100))) break;
  return status_;
}

void child_process::send_signal(int signal) { ::kill(pid_, signal); }

run_result run_binary(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  child_process child(args);
  run_result result;
  result.status = child.wait_exit(timeout).value_or(-1);
  result.out = child.out;
  result.err = child.err;
  return result;
}

}  // namespace kwm::test
