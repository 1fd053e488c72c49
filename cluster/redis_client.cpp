#include "cluster/redis_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <random>

#include "cluster/detail/client_strand.hpp"
#include "cluster/detail/hiredis_link.hpp"

namespace kwm::cluster {
namespace {

using clock_type = std::chrono::steady_clock;
using detail::hiredis_link;
using detail::strand_type;

enum class link_state { idle, resolving, connecting, handshaking, up, backing_off, stopped };

std::string client_name_of(const std::string& name) {
  std::string out = name.empty() ? "kwmserverd" : name;
  for (char& c : out)
    if (c <= ' ' || c > '~') c = '-';
  return out;
}

std::size_t argument_bytes(const std::vector<std::string>& args) {
  std::size_t bytes = 0;
  for (const auto& arg : args) bytes += arg.size() + 16;  // about what RESP framing adds
  return bytes;
}

}  // namespace

struct redis_client::impl : std::enable_shared_from_this<redis_client::impl> {
  struct queued_command {
    std::vector<std::string> args;
    reply_callback done;
    clock_type::time_point deadline;
    std::size_t bytes = 0;
  };

  // One of the two connections with its reconnect loop.
  struct slot {
    slot(const char* role, strand_type& strand)
        : role(role), resolver(strand), retry_timer(strand) {}
    const char* role;
    link_state state = link_state::idle;
    std::shared_ptr<hiredis_link> link;
    boost::asio::ip::tcp::resolver resolver;
    boost::asio::steady_timer retry_timer;
    std::chrono::milliseconds backoff{0};
    uint64_t generation = 0;  // tells handlers of an earlier connection apart
    uint64_t attempts = 0;    // rotates through the resolved addresses
    bool known_down = false;  // a connection failed since the last time it was up
    std::string last_failure;
    std::size_t confirmations_due = 0;  // subscriber: (p)subscribe replies still expected
    bool subscriptions_sent = false;    // subscriber: the (p)subscribe commands are out
    clock_type::time_point since{};     // when the current state began
  };

  impl(boost::asio::io_context& io, redis_client_options opts, log_function logger)
      : strand(boost::asio::make_strand(io)),
        options(std::move(opts)),
        log(std::move(logger)),
        commands("commands", strand),
        subscriber("subscriber", strand),
        tick_timer(strand),
        random(std::random_device{}()) {
    commands.backoff = subscriber.backoff = options.backoff_initial;
    const auto shortest =
        std::min({options.queue_timeout, options.command_timeout, options.health_interval});
    tick = std::max(std::chrono::milliseconds(10), shortest / 4);
  }

  strand_type strand;
  redis_client_options options;
  log_function log;
  slot commands;
  slot subscriber;
  boost::asio::steady_timer tick_timer;
  std::chrono::milliseconds tick{100};
  std::minstd_rand random;
  redis_client_stats stats;
  std::atomic<bool> up{false};
  bool started = false;
  bool stopped = false;
  bool reported_up = false;
  bool reported_any = false;
  std::vector<std::function<void(bool)>> observers;

  std::deque<queued_command> queue;
  std::size_t in_flight = 0;  // on the commands link
  std::size_t pending_bytes = 0;
  bool draining = false;

  std::map<std::string, message_handler, std::less<>> channels;
  std::map<std::string, message_handler, std::less<>> patterns;

  clock_type::time_point last_health{};
  bool ping_outstanding = false;
  clock_type::time_point last_probe_seen{};
  uint64_t probes_sent = 0;

  // -- lifecycle -------------------------------------------------------------------------

  void start() {
    if (started || stopped) return;
    started = true;
    if (!options.probe_channel.empty()) channels.emplace(options.probe_channel, message_handler{});
    connect(commands);
    if (wants_subscriber()) connect(subscriber);
    schedule_tick();
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    tick_timer.cancel();
    for (slot* s : {&commands, &subscriber}) {
      s->state = link_state::stopped;
      s->retry_timer.cancel();
      s->resolver.cancel();
      if (s->link) s->link->close(error{failure::stopped, "client stopped"});
      s->link.reset();
    }
    while (!queue.empty()) fail_front(error{failure::stopped, "client stopped"});
    set_up(false, "client stopped");
  }

  bool wants_subscriber() const { return !channels.empty() || !patterns.empty(); }

  // -- connecting ------------------------------------------------------------------------

  void connect(slot& s) {
    if (stopped) return;
    s.state = link_state::resolving;
    s.subscriptions_sent = false;
    s.confirmations_due = 0;
    s.since = clock_type::now();
    const uint64_t generation = ++s.generation;
    s.resolver.async_resolve(
        options.endpoint.host, std::to_string(options.endpoint.port),
        [self = shared_from_this(), &s, generation](
            const boost::system::error_code& ec,
            boost::asio::ip::tcp::resolver::results_type results) {
          if (self->stopped || generation != s.generation) return;
          if (ec || results.empty()) {
            self->link_failed(
                s, error{failure::unavailable, "cannot resolve " + self->options.endpoint.host +
                                                   (ec ? ": " + ec.message() : std::string())});
            return;
          }
          auto entry = results.begin();
          std::advance(entry, static_cast<std::ptrdiff_t>(s.attempts++ % results.size()));
          self->open(s, entry->endpoint().address().to_string(), generation);
        });
  }

  void open(slot& s, const std::string& address, uint64_t generation) {
    s.state = link_state::connecting;
    std::weak_ptr<impl> weak = shared_from_this();
    hiredis_link::handlers on;
    on.connected = [weak, &s, generation] {
      if (auto self = weak.lock(); self && generation == s.generation)
        self->handshake(s, generation);
    };
    on.closed = [weak, &s, generation](const error& why) {
      if (auto self = weak.lock(); self && generation == s.generation) self->link_failed(s, why);
    };
    if (&s == &subscriber)
      on.push = [weak, generation](const redis_reply& push) {
        if (auto self = weak.lock(); self && generation == self->subscriber.generation)
          self->on_push(push);
      };
    s.link = std::make_shared<hiredis_link>(strand, std::move(on));
    s.link->open(address, options.endpoint.port, options.connect_timeout);
  }

  // AUTH, SELECT and CLIENT SETNAME, pipelined; the connection is ready after the last reply.
  void handshake(slot& s, uint64_t generation) {
    s.state = link_state::handshaking;
    s.since = clock_type::now();
    std::vector<std::vector<std::string>> steps;
    const auto& endpoint = options.endpoint;
    if (!endpoint.password.empty()) {
      if (endpoint.username.empty())
        steps.push_back({"AUTH", endpoint.password});
      else
        steps.push_back({"AUTH", endpoint.username, endpoint.password});
    }
    if (endpoint.db != 0) steps.push_back({"SELECT", std::to_string(endpoint.db)});
    steps.push_back({"CLIENT", "SETNAME", client_name_of(options.client_name) + "-" + s.role});
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const bool last = i + 1 == steps.size();
      const bool required = !last;  // a Redis without CLIENT SETNAME (a proxy) is fine
      std::vector<std::string_view> views(steps[i].begin(), steps[i].end());
      hiredis_link::reply_handler on_reply = [self = shared_from_this(), &s, generation, last,
                                              required,
                                              step = steps[i].front()](result<redis_reply> reply) {
        if (generation != s.generation || self->stopped || !reply)
          return;  // the link reports the loss
        if (reply->is_error() && required) {
          s.link->close(error{failure::rejected, "redis refused " + step + ": " + reply->text});
          return;
        }
        if (last) self->handshake_done(s);
      };
      if (!s.link->send(views, std::move(on_reply))) return;  // the link is closing; it reports why
    }
  }

  void handshake_done(slot& s) {
    if (&s == &subscriber) {
      s.confirmations_due = 0;
      s.subscriptions_sent = true;
      for (const auto& [channel, handler] : channels)
        if (s.link->subscribe(channel, false)) ++s.confirmations_due;
      for (const auto& [pattern, handler] : patterns)
        if (s.link->subscribe(pattern, true)) ++s.confirmations_due;
      last_probe_seen = clock_type::now();
      if (s.confirmations_due > 0) return;  // ready once every subscription is confirmed
    }
    became_ready(s);
  }

  void became_ready(slot& s) {
    s.state = link_state::up;
    s.since = clock_type::now();
    s.backoff = options.backoff_initial;
    s.known_down = false;
    stats.connects.fetch_add(1, std::memory_order_relaxed);
    if (&s == &commands) drain();
    update_state();
  }

  void link_failed(slot& s, const error& why) {
    if (stopped) return;
    s.link.reset();
    s.known_down = true;
    s.last_failure = why.detail.empty() ? to_string(why.kind) : why.detail;
    s.state = link_state::backing_off;
    s.since = clock_type::now();
    if (&s == &commands) {
      // Everything waiting would wait for a connection that is known to be gone.
      while (!queue.empty()) fail_front(error{failure::unavailable, s.last_failure});
    }
    update_state();
    const auto jitter = std::uniform_int_distribution<int64_t>(0, s.backoff.count() / 4)(random);
    s.retry_timer.expires_after(s.backoff + std::chrono::milliseconds(jitter));
    s.backoff = std::min(options.backoff_max, s.backoff * 2);
    const uint64_t generation = ++s.generation;
    s.retry_timer.async_wait(
        [self = shared_from_this(), &s, generation](const boost::system::error_code& ec) {
          if (!ec && !self->stopped && generation == s.generation) self->connect(s);
        });
  }

  void update_state() {
    const bool now_up = commands.state == link_state::up &&
                        (!wants_subscriber() || subscriber.state == link_state::up);
    std::string reason;
    if (!now_up) {
      const slot& failed = commands.state != link_state::up ? commands : subscriber;
      reason = failed.last_failure.empty() ? "connecting" : failed.last_failure;
    }
    set_up(now_up, reason);
  }

  void set_up(bool now_up, const std::string& reason) {
    up.store(now_up, std::memory_order_relaxed);
    if (reported_any && reported_up == now_up) return;
    // Before the first connection there is nothing to report as "down" yet.
    if (!reported_any && !now_up && !commands.known_down && !subscriber.known_down && !stopped)
      return;
    reported_any = true;
    reported_up = now_up;
    const std::string where = options.endpoint.describe();
    if (now_up)
      emit(log, log_level::info, "redis connection up", {{"redis", where}});
    else if (!stopped)
      emit(log, log_level::warn, "redis connection down", {{"redis", where}, {"reason", reason}});
    for (const auto& observer : observers) observer(now_up);
  }

  // -- commands --------------------------------------------------------------------------

  void submit(std::vector<std::string> args, reply_callback done) {
    if (stopped) return done(error{failure::stopped, "client stopped"});
    if (args.empty()) return done(error{failure::rejected, "empty command"});
    const std::size_t bytes = argument_bytes(args);
    if (queue.size() + in_flight >= options.max_pending ||
        pending_bytes + bytes > options.max_pending_bytes) {
      stats.failures.fetch_add(1, std::memory_order_relaxed);
      return done(error{failure::overloaded, "too many pending redis commands"});
    }
    const bool ready = commands.state == link_state::up;
    if (!ready && (commands.known_down || !started)) {
      stats.failures.fetch_add(1, std::memory_order_relaxed);
      return done(
          error{failure::unavailable, started ? commands.last_failure : "client not started"});
    }
    pending_bytes += bytes;
    queue.push_back(
        {std::move(args), std::move(done), clock_type::now() + options.queue_timeout, bytes});
    update_pending();
    if (ready) drain();
  }

  void drain() {
    if (draining) return;  // a reply handler inside the loop below: the loop goes on
    draining = true;
    while (!queue.empty() && commands.state == link_state::up && commands.link &&
           commands.link->usable() && in_flight < options.max_in_flight) {
      queued_command& next = queue.front();
      const std::vector<std::string_view> views(next.args.begin(), next.args.end());
      hiredis_link::reply_handler on_reply = [self = shared_from_this(), bytes = next.bytes,
                                              done =
                                                  std::move(next.done)](result<redis_reply> reply) {
        --self->in_flight;
        self->pending_bytes -= bytes;
        self->update_pending();
        if (!reply) self->stats.failures.fetch_add(1, std::memory_order_relaxed);
        done(std::move(reply));
        self->drain();
      };
      ++in_flight;
      const bool sent = commands.link->send(views, std::move(on_reply));
      queue.pop_front();
      if (!sent) {
        on_reply(error{failure::lost, "redis connection closing"});  // not moved from: see send()
        continue;
      }
      stats.commands.fetch_add(1, std::memory_order_relaxed);
    }
    draining = false;
  }

  void fail_front(const error& why) {
    queued_command failed = std::move(queue.front());
    queue.pop_front();
    pending_bytes -= failed.bytes;
    update_pending();
    stats.failures.fetch_add(1, std::memory_order_relaxed);
    failed.done(why);
  }

  void update_pending() {
    stats.pending.store(queue.size() + in_flight, std::memory_order_relaxed);
  }

  // -- pub/sub ---------------------------------------------------------------------------

  void add_subscription(std::string name, message_handler handler, bool pattern) {
    auto& table = pattern ? patterns : channels;
    const bool fresh = table.find(name) == table.end();
    table[name] = std::move(handler);
    if (!started || stopped || !fresh) return;
    if (subscriber.state == link_state::idle) {
      connect(subscriber);
      update_state();
      return;
    }
    // Before the subscriptions go out, handshake_done() sends this one with the others.
    if (subscriber.subscriptions_sent && subscriber.link &&
        subscriber.link->subscribe(name, pattern))
      ++subscriber.confirmations_due;
  }

  void on_push(const redis_reply& push) {
    if (!push.is_array() || push.elements.size() < 3 || !push.elements[0].is_string()) return;
    const std::string& kind = push.elements[0].text;
    if (kind == "subscribe" || kind == "psubscribe") {
      if (subscriber.confirmations_due > 0 && --subscriber.confirmations_due == 0 &&
          subscriber.state == link_state::handshaking)
        became_ready(subscriber);
      return;
    }
    if (kind == "message") {
      const std::string& channel = push.elements[1].text;
      stats.messages.fetch_add(1, std::memory_order_relaxed);
      if (channel == options.probe_channel && !options.probe_channel.empty()) {
        last_probe_seen = clock_type::now();
        return;
      }
      if (auto it = channels.find(channel); it != channels.end() && it->second)
        it->second(channel, push.elements[2].text);
      return;
    }
    if (kind == "pmessage" && push.elements.size() >= 4) {
      stats.messages.fetch_add(1, std::memory_order_relaxed);
      if (auto it = patterns.find(push.elements[1].text); it != patterns.end() && it->second)
        it->second(push.elements[2].text, push.elements[3].text);
    }
  }

  // -- timers: queue deadlines, the reply watchdog, health --------------------------------

  void schedule_tick() {
    tick_timer.expires_after(tick);
    tick_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped) return;
      self->on_tick();
      self->schedule_tick();
    });
  }

  void on_tick() {
    const auto now = clock_type::now();
    while (!queue.empty() && queue.front().deadline <= now)
      fail_front(commands.state == link_state::up
                     ? error{failure::timeout, "queued longer than the queue timeout"}
                     : error{failure::unavailable, "no redis connection"});
    for (slot* s : {&commands, &subscriber}) {
      if (!s->link) continue;
      const auto oldest = s->link->oldest_in_flight();
      const bool reply_overdue = oldest && now - *oldest > options.command_timeout;
      const bool subscribe_overdue = s->confirmations_due > 0 &&
                                     now - s->since > options.command_timeout &&
                                     s->state == link_state::handshaking;
      if (reply_overdue || subscribe_overdue)
        s->link->close(error{failure::timeout, "no reply from redis within " +
                                                   std::to_string(options.command_timeout.count()) +
                                                   " ms"});
    }
    if (now - last_health >= options.health_interval) {
      last_health = now;
      health_check(now);
    }
  }

  void health_check(clock_type::time_point now) {
    if (commands.state != link_state::up) {
      last_probe_seen = now;  // no probes go out: their silence proves nothing
      return;
    }
    if (!ping_outstanding) {
      ping_outstanding = true;
      submit({"PING"}, [self = shared_from_this(), sent = now](result<redis_reply> reply) {
        self->ping_outstanding = false;
        if (!reply) return;
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - sent).count();
        self->stats.round_trip_us.store(micros, std::memory_order_relaxed);
        self->stats.round_trip_sum_us.fetch_add(static_cast<uint64_t>(micros),
                                                std::memory_order_relaxed);
        self->stats.round_trip_count.fetch_add(1, std::memory_order_relaxed);
      });
    }
    if (options.probe_channel.empty() || subscriber.state != link_state::up) return;
    const auto silence = options.command_timeout + 2 * options.health_interval;
    if (now - last_probe_seen > silence && now - subscriber.since > silence && subscriber.link) {
      subscriber.link->close(error{failure::timeout, "pub/sub probe did not come back"});
      return;
    }
    submit({"PUBLISH", options.probe_channel, std::to_string(++probes_sent)},
           [](result<redis_reply>) {});
  }
};

redis_client::redis_client(boost::asio::io_context& io, redis_client_options options,
                           log_function log)
    : impl_(std::make_shared<impl>(io, std::move(options), std::move(log))) {}

redis_client::~redis_client() {
  boost::asio::post(impl_->strand, [self = impl_] { self->stop(); });
}

void redis_client::start() {
  boost::asio::post(impl_->strand, [self = impl_] { self->start(); });
}

void redis_client::stop(std::function<void()> stopped) {
  boost::asio::post(impl_->strand, [self = impl_, stopped = std::move(stopped)] {
    self->stop();
    // After the links' own teardown handlers, which are posted by their close().
    boost::asio::post(self->strand, [self, stopped] {
      if (stopped) stopped();
    });
  });
}

void redis_client::command(std::vector<std::string> args, reply_callback done) {
  boost::asio::post(impl_->strand,
                    [self = impl_, args = std::move(args), done = std::move(done)]() mutable {
                      self->submit(std::move(args), std::move(done));
                    });
}

void redis_client::subscribe(std::string channel, message_handler handler) {
  boost::asio::post(impl_->strand, [self = impl_, channel = std::move(channel),
                                    handler = std::move(handler)]() mutable {
    self->add_subscription(std::move(channel), std::move(handler), false);
  });
}

void redis_client::psubscribe(std::string pattern, message_handler handler) {
  boost::asio::post(impl_->strand, [self = impl_, pattern = std::move(pattern),
                                    handler = std::move(handler)]() mutable {
    self->add_subscription(std::move(pattern), std::move(handler), true);
  });
}

void redis_client::on_state_change(std::function<void(bool)> observer) {
  boost::asio::post(impl_->strand, [self = impl_, observer = std::move(observer)]() mutable {
    self->observers.push_back(std::move(observer));
  });
}

void redis_client::post(std::function<void()> task) {
  boost::asio::post(impl_->strand, std::move(task));
}

bool redis_client::is_up() const {
  return impl_->up.load(std::memory_order_relaxed);
}
const redis_client_stats& redis_client::stats() const {
  return impl_->stats;
}
const redis_client_options& redis_client::options() const {
  return impl_->options;
}

namespace detail {
strand_type client_access::strand(redis_client& client) {
  return client.impl_->strand;
}
}  // namespace detail

}  // namespace kwm::cluster
