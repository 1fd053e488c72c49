#pragma once
// The Prometheus text exposition format (version 0.0.4), as scraped from /metrics.
#include <string>
#include <vector>

namespace kwm::protocol {

struct metric_sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct metric_family {
  std::string name;
  std::string help;
  std::string type;  // counter, gauge, untyped
  std::vector<metric_sample> samples;
};

// `# HELP`, `# TYPE` and one line per sample; label values and help texts escaped.
std::string render_metrics(const std::vector<metric_family>& families);

inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace kwm::protocol
