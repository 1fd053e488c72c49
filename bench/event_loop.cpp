#include "bench/event_loop.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace kwm::bench {

uint64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

clock_type::time_point after_seconds(double seconds) {
  return clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

uint64_t number_after(std::string_view text, std::string_view key) {
  const auto at = text.find(key);
  return at == std::string_view::npos ? 0 : std::strtoull(text.data() + at + key.size(), nullptr, 10);
}

std::string string_after(std::string_view text, std::string_view key) {
  const auto at = text.find(key);
  if (at == std::string_view::npos) return {};
  const auto start = at + key.size();
  return std::string(text.substr(start, text.find('"', start) - start));
}

bool read_until(int fd, frame_reader& reader, const std::function<bool(std::string_view)>& done) {
  bool finished = false;
  char chunk[16384];
  while (!finished) {
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    std::string pongs;
    if (!reader.feed(chunk, static_cast<std::size_t>(n), [&](std::string_view t) { finished = finished || done(t); }, pongs))
      return false;
  }
  return true;
}

void send_blocking(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

loop::loop() : epoll_(::epoll_create1(0)) {}
loop::~loop() { ::close(epoll_); }

void loop::add(peer& p) {
  ::fcntl(p.fd, F_SETFL, ::fcntl(p.fd, F_GETFL) | O_NONBLOCK);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLET;
  event.data.ptr = &p;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, p.fd, &event);
}

void loop::replace(peer& p, int fd) {
  if (p.fd >= 0) ::close(p.fd);  // closing also removes it from the epoll set
  p.fd = fd;
  ++p.generation;
  p.reader = frame_reader{};
  p.pending.clear();
  if (fd >= 0) add(p);
}

void loop::send(peer& p, const std::string& frame) {
  if (p.pending.empty()) {
    const auto n = ::send(p.fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(frame.size())) return;
    p.pending.append(frame, n > 0 ? static_cast<std::size_t>(n) : 0, std::string::npos);
  } else {
    p.pending += frame;
  }
}

void loop::run(clock_type::time_point deadline, const text_handler& on_text, const closed_handler& on_closed,
               const tick_handler& on_tick) {
  epoll_event events[256];
  char chunk[65536];
  while (clock_type::now() < deadline) {
    const int ready = ::epoll_wait(epoll_, events, 256, 50);
    for (int i = 0; i < ready; ++i) {
      auto& p = *static_cast<peer*>(events[i].data.ptr);
      const int fd = p.fd;
      const unsigned generation = p.generation;
      bool open = true;
      if (events[i].events & EPOLLIN) {
        while (open && p.generation == generation) {
          const auto n = ::recv(fd, chunk, sizeof chunk, 0);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          if (n <= 0) {
            open = false;
            break;
          }
          std::string pongs;
          open = p.reader.feed(chunk, static_cast<std::size_t>(n), [&](std::string_view t) { on_text(p, t); }, pongs);
          if (!pongs.empty() && p.generation == generation) send(p, pongs);
        }
      }
      if (p.generation != generation) continue;  // a handler replaced the connection
      if (!open) {
        if (on_closed) on_closed(p);
        continue;
      }
      if (!p.pending.empty()) {
        const auto n = ::send(p.fd, p.pending.data(), p.pending.size(), MSG_NOSIGNAL);
        if (n > 0) p.pending.erase(0, static_cast<std::size_t>(n));
      }
    }
    if (on_tick) on_tick();
  }
}

}  // namespace kwm::bench
