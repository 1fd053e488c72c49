#pragma once
// Runs CAF's actors on the io threads instead of a worker pool of their own: an actor that
// a socket's read wakes up runs on that socket's thread right after the read, and the frames
// it writes go into sockets without crossing threads. Each turn of an actor is one handler
// on an io_context, at most --actor-max-throughput messages long, so sockets and actors
// take turns fairly (D20).
#include <caf/fwd.hpp>

namespace kwm::net {
class io_pool;
}

namespace kwm::app {

// Makes every actor system built from `config` schedule its actors on `pool`, which must
// outlive the system. The pool's threads must be stopped before the system is destroyed;
// the scheduler then runs what is left on the destroying thread.
void use_io_scheduler(caf::actor_system_config& config, net::io_pool& pool);

}  // namespace kwm::app
