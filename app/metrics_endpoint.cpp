#include "app/metrics_endpoint.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "protocol/metrics_text.hpp"

namespace kwm::app {
namespace {

using actors::server_metrics;
using protocol::metric_family;

metric_family kwm_series(const std::string& name, const char* type, const std::string& help, double value) {
  return {"kwmserver_" + name, help, type, {{{{"id", ""}}, value}}};
}

metric_family process_series(const std::string& name, const char* type, const std::string& help, double value) {
  return {"process_" + name, help, type, {{{}, value}}};
}

// Fields of /proc/self/stat after the command name (which may contain spaces).
std::vector<std::string> own_stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;  // fields[0] is the state (field 3 of proc(5))
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

void add_process_series(std::vector<metric_family>& out) {
  const auto fields = own_stat_fields();
  if (fields.size() < 22) return;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // proc(5) numbering: utime 14, stime 15, starttime 22, vsize 23, rss 24 → index n - 3.
  out.push_back(process_series("cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                               (std::stod(fields[11]) + std::stod(fields[12])) / ticks));
  out.push_back(process_series("virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(fields[20])));
  out.push_back(
      process_series("resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::stod(fields[21]) * page));
  out.push_back(process_series("start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                               boot_time_seconds() + std::stod(fields[19]) / ticks));
  std::error_code error;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end; it.increment(error))
    ++fds;
  out.push_back(process_series("open_fds", "gauge", "Number of open file descriptors.", fds));
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  out.push_back(process_series("max_fds", "gauge", "Maximum number of open file descriptors.",
                               static_cast<double>(limit.rlim_cur)));
}

}  // namespace

std::string metrics_endpoint::scrape() {
  const auto& m = *metrics_;
  const auto read = [](const auto& value) { return static_cast<int64_t>(server_metrics::read(value)); };
  const int64_t channels = read(m.channels_created_total) - read(m.channels_cleanedup_total);
  const int64_t group_channels = read(m.group_channels_current);
  const int64_t group_connections = read(m.group_channel_connections_current);
  const int64_t connections = read(m.connections_connected_total) - read(m.connections_disconnected_total);
  const int64_t users = read(m.distinct_users_connected_total) - read(m.distinct_users_cleanedup_total);
  maxima max;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    max_.channels = std::max(max_.channels, channels);
    max_.group_channels = std::max(max_.group_channels, group_channels);
    max_.group_connections = std::max(max_.group_connections, group_connections);
    max_.connections = std::max(max_.connections, connections);
    max_.users = std::max(max_.users, users);
    max = max_;
  }
  std::vector<metric_family> out;
  const auto counter = [&](const std::string& name, const std::string& help, const server_metrics::counter& value) {
    out.push_back(kwm_series(name, "counter", help, static_cast<double>(server_metrics::read(value))));
  };
  counter("rtm_channels_created_total", "Total number of created channels", m.channels_created_total);
  counter("rtm_channels_cleanedup_total", "Total number of cleaned up channels", m.channels_cleanedup_total);
  counter("rtm_channels_connections_added_total", "Total number of connections added to channels",
          m.channels_connections_added_total);
  counter("rtm_channels_connections_removed_total", "Total number of connections removed from channels",
          m.channels_connections_removed_total);
  counter("rtm_connections_connected_total", "Total number of connected RTM connections", m.connections_connected_total);
  counter("rtm_connections_disconnected_total", "Total number of disconnected RTM connections",
          m.connections_disconnected_total);
  counter("rtm_distinct_users_connected_total", "Total number of distinct users which connected",
          m.distinct_users_connected_total);
  counter("rtm_distinct_users_cleanedup_total", "Total number of distinct users which were cleaned up",
          m.distinct_users_cleanedup_total);
  counter("rtm_http_connect_success_total", "Total number of successful RTM connect requests",
          m.http_connect_success_total);
  counter("rtm_http_turn_success_total", "Total number of successful RTM turn requests", m.http_turn_success_total);
  counter("rtm_http_websocket_success_total", "Total number of successful RTM websocket requests",
          m.http_websocket_success_total);
  if (guest_api_)
    counter("guest_http_logon_success_total", "Total number of successful guest logon requests",
            m.guest_http_logon_success_total);
  counter("rtm_rate_limit_rejections_total", "Total number of incoming frames refused by the rate limit",
          m.rate_limit_rejections_total);
  const std::pair<const char*, std::pair<int64_t, int64_t>> gauges[] = {
      {"rtm_channels_created", {channels, max.channels}},
      {"rtm_group_channels_created", {group_channels, max.group_channels}},
      {"rtm_group_channels_connections_connected", {group_connections, max.group_connections}},
      {"rtm_connections_connected", {connections, max.connections}},
      {"rtm_distinct_users_connected", {users, max.users}},
  };
  for (const auto& [name, values] : gauges) {
    out.push_back(kwm_series(std::string(name) + "_current", "gauge", std::string("Current number of ") + name,
                             static_cast<double>(values.first)));
    out.push_back(kwm_series(std::string(name) + "_max", "counter", std::string("Maximum number of ") + name,
                             static_cast<double>(values.second)));
  }
  for (const auto& source : sources_) source(out);
  add_process_series(out);
  return protocol::render_metrics(out);
}

}  // namespace kwm::app
