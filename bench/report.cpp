#include "bench/report.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace kwm::bench {
namespace {

constexpr unsigned exact_below = 64;  // nanoseconds counted one by one
constexpr unsigned sub_bits = 5;      // 32 buckets per power of two above that
constexpr unsigned first_exponent = 6;
constexpr std::size_t bucket_count = exact_below + (64 - first_exponent) * (1u << sub_bits);

std::size_t bucket_of(uint64_t ns) {
  if (ns < exact_below) return static_cast<std::size_t>(ns);
  const unsigned exponent = 63 - static_cast<unsigned>(std::countl_zero(ns));
  const auto mantissa = (ns >> (exponent - sub_bits)) & ((1u << sub_bits) - 1);
  return exact_below + (exponent - first_exponent) * (1u << sub_bits) + mantissa;
}

double bucket_middle_ns(std::size_t index) {
  if (index < exact_below) return static_cast<double>(index);
  const auto k = index - exact_below;
  const unsigned exponent = static_cast<unsigned>(k >> sub_bits) + first_exponent;
  const uint64_t width = uint64_t{1} << (exponent - sub_bits);
  const uint64_t lower = ((uint64_t{1} << sub_bits) + (k & ((1u << sub_bits) - 1))) * width;
  return static_cast<double>(lower) + static_cast<double>(width) / 2;
}

uint64_t monotonic_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

double per_message_us(double cpu_seconds, uint64_t count) {
  return count == 0 || cpu_seconds < 0 ? -1 : cpu_seconds * 1e6 / static_cast<double>(count);
}

// A figure, or "–" where it is unknown (negative).
std::string or_dash(const char* format, double value) {
  if (value < 0) return "–";
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

latency_histogram::latency_histogram() : buckets_(bucket_count) {}

void latency_histogram::add(uint64_t ns) {
  ++buckets_[bucket_of(ns)];
  ++count_;
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
}

double latency_histogram::percentile_us(double fraction) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<uint64_t>(fraction * static_cast<double>(count_ - 1));
  uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen > rank) return bucket_middle_ns(i) / 1e3;
  }
  return bucket_middle_ns(bucket_count - 1) / 1e3;
}

double process_cpu_seconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto name_end = text.rfind(')');  // the command name may contain spaces and ')'
  if (name_end == std::string::npos) return -1;
  std::istringstream fields(text.substr(name_end + 2));
  std::string skipped;
  for (int field = 3; field < 14; ++field) fields >> skipped;  // state … cmajflt
  unsigned long long user = 0, system = 0;
  if (!(fields >> user >> system)) return -1;
  return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

measured_interval::measured_interval(int server_pid)
    : server_pid_(server_pid),
      start_ns_(monotonic_ns()),
      client_start_(own_cpu_seconds()),
      server_start_(server_pid > 0 ? process_cpu_seconds(server_pid) : -1) {}

void measured_interval::stop() {
  seconds_ = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
  client_cpu_ = own_cpu_seconds() - client_start_;
  const double server_now = server_pid_ > 0 ? process_cpu_seconds(server_pid_) : -1;
  server_cpu_ = server_now >= 0 && server_start_ >= 0 ? server_now - server_start_ : -1;
}

measured_interval start_measurement(int server_pid, double seconds) {
  std::fprintf(stderr, "kwmbench: measuring for %.1f s\n", seconds);
  return measured_interval(server_pid);
}

void print_result(const run_result& r) {
  const auto& i = r.interval;
  const double rate = i.seconds() > 0 ? static_cast<double>(r.count) / i.seconds() : 0;
  const double p50 = r.latency ? r.latency->percentile_us(0.5) : 0;
  const double p99 = r.latency ? r.latency->percentile_us(0.99) : 0;
  const double client_pct = i.seconds() > 0 ? 100 * i.client_cpu() / i.seconds() : 0;
  const double server_pct =
      i.seconds() > 0 && i.server_cpu() >= 0 ? 100 * i.server_cpu() / i.seconds() : -1;
  const double client_us = per_message_us(i.client_cpu(), r.count);
  const double server_us = per_message_us(i.server_cpu(), r.count);
  std::printf(
      "| scenario | conns  | window | secs  | throughput                  | p50 µs   | p99 µs   | "
      "client CPU %% | "
      "client µs/msg | server CPU %% | server µs/msg |\n");
  std::printf(
      "|----------|--------|--------|-------|-----------------------------|----------|----------|--"
      "------------|"
      "---------------|--------------|---------------|\n");
  std::printf(
      "| %-8s | %6d | %6d | %5.1f | %12.0f %-14s | %8.1f | %8.1f | %12.1f | %13.2f | %12s | %13s "
      "|\n",
      r.scenario.c_str(), r.connections, r.window, i.seconds(), rate, r.unit.c_str(), p50, p99,
      client_pct, client_us, or_dash("%.0f", server_pct).c_str(),
      or_dash("%.2f", server_us).c_str());
  if (r.closed > 0)
    std::printf("warning: the server closed %llu connections during the run\n",
                static_cast<unsigned long long>(r.closed));
  std::printf(
      "result scenario=%s connections=%d window=%d seconds=%.3f count=%llu per_second=%.1f "
      "p50_us=%.1f "
      "p99_us=%.1f client_cpu_pct=%.1f client_us_per_msg=%.3f server_cpu_pct=%.1f "
      "server_us_per_msg=%.3f "
      "closed=%llu%s\n",
      r.scenario.c_str(), r.connections, r.window, i.seconds(),
      static_cast<unsigned long long>(r.count), rate, p50, p99, client_pct, client_us, server_pct,
      server_us, static_cast<unsigned long long>(r.closed), r.extra.c_str());
  std::fflush(stdout);
}

}  // namespace kwm::bench
