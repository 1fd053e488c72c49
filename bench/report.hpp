#pragma once
// What a scenario measures and how kwmbench prints it: a latency histogram, the CPU time of
// the client and (given its pid) the server over the measured interval, one table row and
// one machine-readable `result` line per run (bench/compare.sh reads the latter).
#include <cstdint>
#include <string>
#include <vector>

namespace kwm::bench {

// Log-linear buckets (32 per power of two, ≤ 3 % error): constant memory and O(1) per sample
// however long a run is.
class latency_histogram {
 public:
  latency_histogram();
  void add(uint64_t ns);
  uint64_t count() const { return count_; }
  double percentile_us(double fraction) const;  // 0 when empty
  void merge(const latency_histogram& other);

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
};

// CPU seconds (user + system) of a process: /proc/<pid>/stat; of this process: getrusage.
double process_cpu_seconds(int pid);
double own_cpu_seconds();

// Wall time and CPU time of both sides from construction to stop().
class measured_interval {
 public:
  explicit measured_interval(int server_pid);
  void stop();
  double seconds() const { return seconds_; }
  double client_cpu() const { return client_cpu_; }
  double server_cpu() const { return server_cpu_; }  // < 0 without a server pid

 private:
  int server_pid_;
  uint64_t start_ns_;
  double client_start_, server_start_;
  double seconds_ = 0, client_cpu_ = 0, server_cpu_ = -1;
};

// Says on stderr that setup is over and the measured interval begins (bench/profile.sh
// waits for this line), then starts it.
measured_interval start_measurement(int server_pid, double seconds);

struct run_result {
  std::string scenario;
  int connections = 0;
  int window = 0;
  std::string unit;  // what `count` counts, per second: "round trips/s", "deliveries/s", …
  uint64_t count = {};
  uint64_t closed = {};  // connections the server closed during the measurement
  const latency_histogram* latency = {};
  std::string extra = {};  // more " key=value" pairs for the result line
  measured_interval interval{0};
};

void print_result(const run_result& r);

}  // namespace kwm::bench
