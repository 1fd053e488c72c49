#include "bench/event_loop.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace kwm::bench {

uint64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

clock_type::time_point after_seconds(double seconds) {
  return clock_type::now() +
         std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

bool read_until(int fd, frame_reader& reader, const std::function<bool(std::string_view)>& done) {
  bool finished = false;
  char chunk[16384];
  while (!finished) {
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    std::string pongs;
    if (!reader.feed(
            chunk, static_cast<std::size_t>(n),
            [&](std::string_view t) { finished = finished || done(t); }, pongs))
      return false;
    if (!pongs.empty()) send_blocking(fd, pongs);
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
loop::~loop() {
  ::close(epoll_);
}

void loop::add(peer& p) {
  ::fcntl(p.fd, F_SETFL, ::fcntl(p.fd, F_GETFL) | O_NONBLOCK);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
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

void loop::send(peer& p, std::string_view payload) {
  append_text_frame(p.pending, payload);
  queue_flush(p);
}

void loop::send_frames(peer& p, std::string_view frames) {
  p.pending.append(frames);
  queue_flush(p);
}

void loop::queue_flush(peer& p) {
  if (p.flush_queued) return;
  p.flush_queued = true;
  to_flush_.push_back(&p);
}

void loop::flush(peer& p) {
  if (p.pending.empty() || p.fd < 0) return;
  const auto n = ::send(p.fd, p.pending.data(), p.pending.size(), MSG_NOSIGNAL);
  if (n > 0) p.pending.erase(0, static_cast<std::size_t>(n));  // the rest waits for EPOLLOUT
}

void loop::flush_queued() {
  for (peer* p : to_flush_) {
    p->flush_queued = false;
    flush(*p);
  }
  to_flush_.clear();
}

bool loop::run(clock_type::time_point deadline, const callbacks& c) {
  epoll_event events[256];
  char chunk[65536];
  std::string pongs;
  flush_queued();  // what the scenario queued before the run
  while (clock_type::now() < deadline) {
    const int ready = ::epoll_wait(epoll_, events, 256, 50);
    for (int i = 0; i < ready; ++i) {
      auto& p = *static_cast<peer*>(events[i].data.ptr);
      const int fd = p.fd;
      const unsigned generation = p.generation;
      bool open = true;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        // A short read drained the socket: anything later raises a new edge, so the usual
        // extra recv() that returns EAGAIN is skipped, unless the peer also hung up.
        const bool hung_up = (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        while (open && p.generation == generation) {
          const auto n = ::recv(fd, chunk, sizeof chunk, 0);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          if (n <= 0) {
            open = false;
            break;
          }
          pongs.clear();
          open = p.reader.feed(
              chunk, static_cast<std::size_t>(n), [&](std::string_view t) { c.on_text(p, t); },
              pongs);
          if (!pongs.empty() && p.generation == generation) send_frames(p, pongs);
          if (static_cast<std::size_t>(n) < sizeof chunk && !hung_up) break;
        }
        last_frame_ = clock_type::now();
      }
      if (p.generation != generation) continue;  // a handler replaced the connection
      if (!open) {
        if (c.on_closed) c.on_closed(p);
        continue;
      }
      if (events[i].events & EPOLLOUT) flush(p);
    }
    if (c.on_tick) c.on_tick();
    flush_queued();
    if (c.done && c.done()) return true;
  }
  return false;
}

}  // namespace kwm::bench
