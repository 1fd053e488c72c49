#pragma once
// GET /metrics on the metrics listener (--with-metrics): every kwmserver_* series of spec §7.6
// with the label id="", our additions, and the standard process_* series.
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "actors/metrics.hpp"
#include "protocol/metrics_text.hpp"

namespace kwm::app {

class metrics_endpoint {
 public:
  // `guest_api`: the guest logon series exists only with the guest API (as in the original).
  metrics_endpoint(actors::metrics_pointer metrics, bool guest_api)
      : metrics_(std::move(metrics)), guest_api_(guest_api) {}

  // The exposition text of one scrape; updates the running maxima (the *_max series).
  std::string scrape();
  // More series for every scrape (cluster mode: the node's and the cluster's view).
  void add_source(std::function<void(std::vector<protocol::metric_family>&)> source) { sources_.push_back(std::move(source)); }

 private:
  struct maxima {
    int64_t channels = 0, group_channels = 0, group_connections = 0, connections = 0, users = 0;
  };
  actors::metrics_pointer metrics_;
  bool guest_api_;
  std::mutex mutex_;
  maxima max_;
  std::vector<std::function<void(std::vector<protocol::metric_family>&)>> sources_;
};

}  // namespace kwm::app
