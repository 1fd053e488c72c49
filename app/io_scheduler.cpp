#include "app/io_scheduler.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "net/io_pool.hpp"

namespace kwm::app {
namespace {

class io_scheduler;

// The execution unit of one io thread: what an actor running there schedules goes back
// onto the same thread.
class io_unit final : public caf::execution_unit {
 public:
  io_unit(caf::actor_system* system, io_scheduler& owner, std::size_t index)
      : caf::execution_unit(system), owner_(owner), index_(index) {}
  void exec_later(caf::resumable* job) override;

 private:
  io_scheduler& owner_;
  std::size_t index_;
};

class io_scheduler final : public caf::scheduler::abstract_coordinator {
 public:
  io_scheduler(caf::actor_system& system, net::io_pool& pool) : abstract_coordinator(system), pool_(pool) {
    units_.reserve(pool.size());
    for (std::size_t i = 0; i < pool.size(); ++i) units_.push_back(std::make_unique<io_unit>(&system, *this, i));
  }

  // From non-actor code (socket reads, other threads) and the clock: the calling io
  // thread if it is one, else the next thread round-robin.
  void enqueue(caf::resumable* job) override {
    std::size_t index = net::io_pool::current_index();
    if (index >= units_.size()) index = pool_.next_index();
    schedule(job, index);
  }

  void schedule(caf::resumable* job, std::size_t index) {
    boost::asio::post(pool_.context(index), [this, job, index] { run(job, index); });
  }

  caf::actor_clock& clock() noexcept override { return clock_; }

 protected:
  void start() override {
    clock_thread_ = std::thread([this] { clock_.run_dispatch_loop(); });
    abstract_coordinator::start();
  }

  // Runs from ~actor_system on the thread that made the system, after the runtime has
  // stopped the io threads: what the system's own shutdown still schedules runs here.
  void stop() override {
    if (pool_.running()) pool_.stop();
    drain();
    stop_actors();
    drain();
    clock_.cancel_dispatch_loop();
    if (clock_thread_.joinable()) clock_thread_.join();
    drain();
  }

 private:
  void run(caf::resumable* job, std::size_t index) {
    switch (job->resume(units_[index].get(), max_throughput())) {
      case caf::resumable::resume_later:
        // To the back of the thread's queue: sockets and other actors go first.
        schedule(job, index);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        caf::intrusive_ptr_release(job);
        break;
      case caf::resumable::shutdown_execution_unit:
        break;
    }
  }

  void drain() {
    while (pool_.poll_stopped() > 0) {
    }
  }

  net::io_pool& pool_;
  std::vector<std::unique_ptr<io_unit>> units_;
  caf::detail::thread_safe_actor_clock clock_;
  std::thread clock_thread_;
};

void io_unit::exec_later(caf::resumable* job) { owner_.schedule(job, index_); }

}  // namespace

void use_io_scheduler(caf::actor_system_config& config, net::io_pool& pool) {
  config.module_factories.push_back(
      [&pool](caf::actor_system& system) -> caf::actor_system::module* { return new io_scheduler(system, pool); });
}

}  // namespace kwm::app
