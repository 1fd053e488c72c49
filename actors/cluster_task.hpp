#pragma once
// How a cluster actor waits for Redis: the callback of a cluster call runs on the Redis
// client's thread, so it only packs the result into a `resume` message to the actor that
// made the call; the continuation then runs inside that actor, where its state and its
// response promises may be touched.
#include <caf/send.hpp>

#include <memory>
#include <utility>

#include "actors/actors.hpp"
#include "cluster/result.hpp"

namespace kwm::actors {

template <class T, class Handle, class Continuation>
cluster::callback<T> resume_in(Handle actor, Continuation then) {
  return [actor = std::move(actor), then = std::move(then)](cluster::result<T> outcome) {
    auto shared = std::make_shared<cluster::result<T>>(std::move(outcome));
    caf::anon_send(actor, resume_atom::value,
                   cluster_task{[then, shared]() mutable { then(*shared); }});
  };
}

// For fire-and-forget cluster calls (the services always call their callback).
template <class T>
cluster::callback<T> ignore_result() {
  return [](const cluster::result<T>&) {};
}

// The handler every cluster actor adds for it.
inline auto run_resumed() {
  return [](resume_atom, cluster_task& task) { task.run(); };
}

}  // namespace kwm::actors
