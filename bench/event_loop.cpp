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

bool read_until(link& connection, frame_reader& reader, const std::function<bool(std::string_view)>& done) {
  bool finished = false;
  char chunk[16384];
  while (!finished) {
    const auto n = connection.read(chunk, sizeof chunk);
    if (n <= 0) return false;
    std::string pongs;
    if (!reader.feed(
            chunk, static_cast<std::size_t>(n),
            [&](std::string_view t) { finished = finished || done(t); }, pongs))
      return false;
    if (!pongs.empty()) send_blocking(connection, pongs);
  }
  return true;
}

void send_blocking(link& connection, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = connection.write(bytes.data() + sent, bytes.size() - sent);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

loop::loop() : epoll_(::epoll_create1(0)) {}
loop::~loop() {
  ::close(epoll_);
}

void loop::add(peer& p) {
  const int fd = p.connection.fd();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = &p;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
}

void loop::replace(peer& p, link fresh) {
  p.connection = std::move(fresh);  // closing the old one also removes it from the epoll set
  ++p.generation;
  p.reader = frame_reader{};
  p.pending.clear();
  if (p.connection.is_open()) add(p);
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
  if (p.pending.empty() || !p.connection.is_open()) return;
  // TLS writes one record per call: go on until the socket is full.
  std::size_t written = 0;
  do {
    const auto n = p.connection.write(p.pending.data() + written, p.pending.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  } while (p.connection.tls() && written < p.pending.size());
  p.pending.erase(0, written);  // the rest waits for EPOLLOUT
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
      const unsigned generation = p.generation;
      bool open = true;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        // A short read drained the socket: anything later raises a new edge, so the usual
        // extra recv() that returns EAGAIN is skipped, unless the peer also hung up. (Not
        // over TLS: a read returns one record, and more may wait in OpenSSL.)
        const bool hung_up = (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        const bool drains_on_short_read = !p.connection.tls();
        while (open && p.generation == generation) {
          const auto n = p.connection.read(chunk, sizeof chunk);
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
          if (drains_on_short_read && static_cast<std::size_t>(n) < sizeof chunk && !hung_up) break;
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
