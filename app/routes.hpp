#pragma once
// The route table of spec §1.1 for the features that are enabled.
#include "actors/rtm_api.hpp"
#include "app/runtime_options.hpp"
#include "net/router.hpp"

namespace kwm::app {

class metrics_endpoint;

net::router build_routes(const runtime_options& options, const actors::rtm_services& services);

// The metrics listener's only route: GET /metrics.
net::router build_metrics_routes(std::shared_ptr<metrics_endpoint> endpoint);

}  // namespace kwm::app
