#include "app/runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <mutex>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

#include "actors/channel_registry.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/cluster_mcu.hpp"
#include "actors/event_log.hpp"
#include "actors/mcu_broker.hpp"
#include "actors/request_runner.hpp"
#include "actors/rtm_api.hpp"
#include "actors/token_issuer.hpp"
#include "actors/user_directory.hpp"
#include "app/cluster_runtime.hpp"
#include "app/io_scheduler.hpp"
#include "app/metrics_endpoint.hpp"
#include "app/routes.hpp"
#include "app/service_notify.hpp"
#include "app/tls_reload.hpp"
#include "net/http_fetch.hpp"
#include "net/http_server.hpp"
#include "net/io_pool.hpp"
#include "protocol/random.hpp"

namespace kwm::app {
namespace {

// How long a draining node waits for Redis to take its leases back (its command timeout).
constexpr std::chrono::milliseconds hand_over_timeout{3000};

std::size_t or_cores(std::size_t configured) {
  if (configured != 0) return configured;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

caf::actor_system_config& configure(caf::actor_system_config& config, const runtime_options& options,
                                     net::io_pool& pool) {
  // D20: an actor yields after this many messages, so one busy actor cannot hold a thread.
  config.set("scheduler.max-throughput", options.actor_max_throughput == 0 ? std::size_t{1} : options.actor_max_throughput);
  if (options.scheduler_policy == "io") {
    config.set("scheduler.max-threads", pool.size());
    use_io_scheduler(config, pool);
    return config;
  }
  // CAF's default is max(4, cores) workers, which oversubscribes small machines (P6).
  config.set("scheduler.max-threads", or_cores(options.actor_threads));
  config.set("scheduler.policy", caf::atom_from_string(options.scheduler_policy));
  return config;
}

}  // namespace

struct server_runtime::impl {
  explicit impl(runtime_options opts)
      : options(std::move(opts)), pool(or_cores(options.io_threads)), system(configure(config, options, pool)) {}

  runtime_options options;
  // The io threads outlive the actor system: with the io scheduler its actors run there,
  // and its destruction runs what is left on the pool's contexts.
  net::io_pool pool;
  // Declared before everything that can hold actors: destroyed last but the pool.
  caf::actor_system_config config;
  caf::actor_system system;
  actors::token_issuer_actor issuer;
  actors::user_directory_actor directory;
  actors::channel_registry_actor channels;
  actors::admin_tokens_actor admin;
  actors::oidc_provider_actor oidc;
  actors::mcu_broker_actor mcu;
  std::shared_ptr<actors::request_runners> runners;  // shared with the routes' services
  // Cluster mode only; declared after the system so that it ends first (its callbacks hold
  // actor handles).
  std::unique_ptr<cluster_runtime> cluster;
  actors::cluster_gateway_actor gateway;
  std::unique_ptr<net::http_server> server;
  std::unique_ptr<net::http_server> metrics_server;  // --with-metrics
  actors::metrics_pointer metrics = std::make_shared<actors::server_metrics>();
  std::unique_ptr<boost::asio::signal_set> signals;
  std::unique_ptr<boost::asio::steady_timer> drain_timer;
  std::atomic<int> shutdown_requests{0};
  // Set once every connection is closed (or the drain gave up): wait() may stop actors.
  std::mutex drained_mutex;
  std::condition_variable drained_changed;
  bool drained = false;
  std::chrono::steady_clock::time_point drain_deadline{};
  bool actors_stopped = false;

  void begin_shutdown() {
    const int request = ++shutdown_requests;
    boost::asio::post(pool.context(0), [this, request] {
      if (request == 1) {
        notify_stopping();
        log::info("shutting down", {{"connections", std::to_string(server->open_connections())}});
        // Cluster mode: the channels go to other nodes before the goodbyes, so that clients
        // reconnecting elsewhere find their new owner (docs/cluster.md, "Drain on SIGTERM").
        if (cluster)  // then `channels` is the cluster registry
          return actors::hand_channels_over(
              system, caf::actor_cast<actors::cluster_registry_actor>(channels), hand_over_timeout,
              [this] { boost::asio::post(pool.context(0), [this] { begin_drain(); }); });
        begin_drain();
      } else if (request == 2) {
        log::warn("second shutdown request: closing every connection now");
        force_stop();
      }
    });
  }

  void begin_drain() {
    if (shutdown_requests.load() > 1) return;  // a second request closed everything meanwhile
    // The listener stays open while the connections drain, answering 503 (health checks
    // included), so that a load balancer sends new clients elsewhere.
    server->begin_drain();
    if (metrics_server) metrics_server->begin_shutdown();
    drain_deadline = std::chrono::steady_clock::now() + options.drain_timeout;
    drain_timer = std::make_unique<boost::asio::steady_timer>(pool.context(0));
    poll_drain();
  }

  // SIGHUP: the TLS pair is read again (D24); there is nothing else to reload.
  void reload() {
    if (options.server.tls)
      reload_tls(*options.server.tls);
    else
      log::info("SIGHUP: nothing to reload without --tls-cert");
  }

  void poll_drain() {
    if (server->open_connections() == 0) {
      // Runs where the listener accepts: nothing is admitted between the close and the count.
      server->stop_accepting();
      if (server->open_connections() == 0) return finish_io();
    }
    if (std::chrono::steady_clock::now() >= drain_deadline) {
      log::warn("shutdown: connections did not close in time",
                {{"connections", std::to_string(server->open_connections())}});
      return force_stop();
    }
    drain_timer->expires_after(std::chrono::milliseconds(20));
    drain_timer->async_wait([this](boost::system::error_code ec) {
      if (!ec) poll_drain();
    });
  }

  void force_stop() {
    server->stop_accepting();
    server->force_close();
    if (metrics_server) metrics_server->force_close();
    drain_timer = std::make_unique<boost::asio::steady_timer>(pool.context(0));
    drain_timer->expires_after(std::chrono::milliseconds(100));
    drain_timer->async_wait([this](boost::system::error_code) { finish_io(); });
  }

  void finish_io() {
    if (signals) {
      boost::system::error_code ignored;
      signals->cancel(ignored);
    }
    std::lock_guard<std::mutex> guard(drained_mutex);
    drained = true;
    drained_changed.notify_all();
  }

  void await_drained() {
    std::unique_lock<std::mutex> guard(drained_mutex);
    drained_changed.wait(guard, [this] { return drained; });
  }

  // Every actor ends while the io threads still run (the io scheduler runs actors there,
  // and actors post into io), then the io threads stop (stack notes §6).
  void stop_everything() {
    if (!actors_stopped && !pool.running()) pool.start();  // e.g. start() failed to bind
    stop_actors();
    pool.stop();
  }

  void stop_actors() {
    if (actors_stopped) return;
    actors_stopped = true;
    caf::anon_send(directory, actors::shutdown_atom::value);
    caf::anon_send(channels, actors::shutdown_atom::value);
    caf::anon_send_exit(issuer, caf::exit_reason::user_shutdown);
    if (admin) caf::anon_send_exit(admin, caf::exit_reason::user_shutdown);
    if (oidc) caf::anon_send_exit(oidc, caf::exit_reason::user_shutdown);
    if (mcu) caf::anon_send_exit(mcu, caf::exit_reason::user_shutdown);
    if (gateway) caf::anon_send(gateway, actors::shutdown_atom::value);
    if (runners) runners->stop();
    system.await_all_actors_done();
    // After the actors (their last lease releases are on their way): leave the registry,
    // so other nodes take this node's channels over at once.
    if (cluster) cluster->stop();
  }

  // Cluster mode: the twins of the issuer, the directory and the registry, the gateway, and
  // the cluster's channel-hash key (waits until this node joined).
  std::string start_cluster(actors::cluster_mcu_broker_actor mcu_broker) {
    const auto& link = cluster->link();
    issuer = actors::spawn_cluster_token_issuer(system, link, options.connect_keys);
    auto cluster_directory = actors::spawn_cluster_directory(system, link, metrics);
    directory = cluster_directory;
    auto registry = actors::spawn_cluster_registry(system, link, directory, options.channels);
    channels = registry;
    gateway = actors::spawn_cluster_gateway(system, link, registry, mcu_broker);
    link->start(gateway);
    cluster->node().on_rejoin([cluster_directory, registry, mcu_broker] {
      caf::anon_send(cluster_directory, actors::rejoin_atom::value);
      caf::anon_send(registry, actors::rejoin_atom::value);
      if (mcu_broker) caf::anon_send(mcu_broker, actors::rejoin_atom::value);
    });
    cluster->node().on_hash_key_change([](const std::string&) {
      log::error("cluster: Redis holds another channel-hash key than this node; restart the nodes");
    });
    return cluster->start(protocol::random_bytes(protocol::hmac_key_bytes));
  }
};

server_runtime::server_runtime(runtime_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {
  auto& metrics = impl_->metrics;
  impl_->options.channels.metrics = metrics;
  impl_->options.guests.metrics = metrics;
  // The cluster's node exists before the actors that use its link; it starts below.
  if (impl_->options.cluster)
    impl_->cluster = std::make_unique<cluster_runtime>(*impl_->options.cluster);
  actors::pipeline_settings_pointer pipelines;
  actors::cluster_mcu_broker_actor cluster_mcu;
  if (const auto& mcu = impl_->options.mcu; mcu.enabled) {
    if (impl_->cluster) {
      cluster_mcu = actors::spawn_cluster_mcu_broker(impl_->system, impl_->cluster->link(),
                                                     {mcu.transaction_lifetime});
      impl_->mcu = cluster_mcu;
    } else {
      impl_->mcu = actors::spawn_mcu_broker(impl_->system, {mcu.transaction_lifetime});
    }
    if (mcu.forced)
      pipelines = std::make_shared<const actors::pipeline_settings>(
          actors::pipeline_settings{impl_->mcu, *mcu.forced, mcu.reattach_delay, mcu.watchdog});
  }
  impl_->options.channels.pipelines = pipelines;
  std::optional<std::string> cluster_key;
  if (impl_->cluster) {
    cluster_key = impl_->start_cluster(cluster_mcu);
  } else {
    impl_->issuer = actors::spawn_token_issuer(impl_->system, impl_->options.connect_keys);
    impl_->directory = actors::spawn_user_directory(impl_->system, metrics);
    impl_->channels = actors::spawn_channel_registry(impl_->system, impl_->directory, impl_->options.channels);
  }
  if (impl_->options.admin_tokens) {
    impl_->options.rtm.auth.admin_tokens = true;
    impl_->admin = impl_->cluster ? actors::admin_tokens_actor(actors::spawn_cluster_admin_tokens(
                                        impl_->system, impl_->cluster->link(), *impl_->options.admin_tokens))
                                  : actors::spawn_admin_tokens(impl_->system, *impl_->options.admin_tokens);
  }
  // Outbound HTTP(S) for the OIDC provider and the TURN credential service.
  const net::fetcher fetcher = [io = &impl_->pool.context(0)](const std::string& url, net::fetch_options options,
                                                              net::fetch_callback done) {
    net::fetch(*io, url, std::move(options), std::move(done));
  };
  if (impl_->options.oidc) {
    impl_->options.rtm.auth.bearer = true;
    auto settings = *impl_->options.oidc;
    settings.fetch = fetcher;
    impl_->oidc = actors::spawn_oidc_provider(impl_->system, std::move(settings));
  }
  if (!impl_->options.rtm.turn.service_url.empty()) impl_->options.rtm.turn.fetch = fetcher;
  auto context = std::make_shared<actors::rtm_context>();
  context->directory = impl_->directory;
  context->admin = impl_->admin;
  context->channels = impl_->channels;
  // The channel-hash key lives as long as the process (spec §3.8); a cluster shares one.
  context->hasher = cluster_key ? std::make_shared<const protocol::channel_hasher>(std::move(*cluster_key))
                                : std::make_shared<const protocol::channel_hasher>(
                                      protocol::channel_hasher::with_random_key());
  context->settings = impl_->options.rtm.connection;
  context->metrics = metrics;
  context->pipelines = pipelines;
  actors::rtm_services services{&impl_->system, impl_->issuer, impl_->directory, impl_->admin, impl_->oidc,
                                std::move(context), impl_->options.rtm, impl_->mcu, {}, {}};
  if (impl_->cluster) services.cluster_available = [node = &impl_->cluster->node()] { return node->healthy(); };
  impl_->runners = actors::request_runners::make(impl_->system, impl_->pool.size());
  services.runners = impl_->runners;
  impl_->server = std::make_unique<net::http_server>(impl_->pool, impl_->options.server,
                                                     build_routes(impl_->options, services));
  if (impl_->options.metrics_listener) {
    auto endpoint = std::make_shared<metrics_endpoint>(metrics, impl_->options.enable_guest_api);
    if (auto* cluster = impl_->cluster.get())
      endpoint->add_source([cluster](std::vector<protocol::metric_family>& out) { cluster->add_metrics(out); });
    impl_->metrics_server = std::make_unique<net::http_server>(impl_->pool, *impl_->options.metrics_listener,
                                                               build_metrics_routes(std::move(endpoint)));
  }
}

server_runtime::~server_runtime() {
  if (impl_->pool.running()) {
    request_shutdown();
    impl_->await_drained();
  }
  impl_->stop_everything();
  impl_->server.reset();
  impl_->metrics_server.reset();
}

void server_runtime::start() {
  impl_->server->start();
  if (impl_->metrics_server) impl_->metrics_server->start();
  impl_->pool.start();
}

uint16_t server_runtime::port() const { return impl_->server->port(); }

uint16_t server_runtime::metrics_port() const {
  return impl_->metrics_server ? impl_->metrics_server->port() : uint16_t{0};
}

void server_runtime::handle_signals() {
  impl_->signals = std::make_unique<boost::asio::signal_set>(impl_->pool.context(0), SIGINT, SIGTERM, SIGHUP);
  struct waiter {
    impl* self;
    void operator()(boost::system::error_code ec, int signal) const {
      if (ec) return;
      log::info("received signal", {{"signal", std::to_string(signal)}});
      if (signal == SIGHUP)
        self->reload();
      else
        self->begin_shutdown();
      self->signals->async_wait(*this);
    }
  };
  impl_->signals->async_wait(waiter{impl_.get()});
}

void server_runtime::request_shutdown() { impl_->begin_shutdown(); }

void server_runtime::wait() {
  impl_->await_drained();
  impl_->stop_everything();
}

std::size_t server_runtime::open_connections() const { return impl_->server->open_connections(); }

}  // namespace kwm::app
