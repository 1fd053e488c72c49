#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan+UBSan) and runs each one for SECONDS
# (default 10), starting from the seed corpora in fuzz/corpus. A crash, leak or sanitizer
# report fails the run. Long runs: scripts/fuzz.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
if ! command -v clang++-14 >/dev/null || [ ! -d /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
fi
cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKWM_FUZZ=ON -DKWM_BUILD_TESTS=OFF -DKWM_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz --target kwm_fuzz_rtm_frame kwm_fuzz_token kwm_fuzz_form kwm_fuzz_http_request
for target in rtm_frame token form http_request; do
  corpus="build/fuzz/corpus/${target}"
  mkdir -p "${corpus}"
  echo "fuzzing ${target} for ${seconds} s"
  "build/fuzz/kwm_fuzz_${target}" -max_total_time="${seconds}" -max_len=65536 -print_final_stats=1 \
    "${corpus}" "fuzz/corpus/${target}" 2>&1 | tail -n 3
done
echo "fuzz: all targets ran without findings"
