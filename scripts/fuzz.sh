#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan + UBSan, -fno-sanitize-recover=all) and runs
# each one from the committed corpus (fuzz/corpus/<target>/) and every regression input
# (fuzz/regressions/<target>/), with a fixed seed so that a run can be repeated exactly.
# A crash, leak, timeout, sanitizer report or output-validity abort fails the run and prints
# the target's whole log (kept in build/fuzz/logs/); a finding is saved in build/fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS]       every target for SECONDS (default 10); CI uses 5
#   options (before SECONDS):
#     --runs N        N executions per target instead of a time limit
#     --seed N        libFuzzer's -seed (default 1, or KWM_FUZZ_SEED)
#     --target NAME   only this target (repeatable)
#     --grow          keep new corpus units in build/fuzz/corpus/<target>/ across runs (long
#                     runs); without it every run starts from the committed inputs only
#   KWM_FUZZ_TIMEOUT: seconds one input may take before it counts as a finding (default 10;
#   long runs on a busy machine need more)
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(rtm_frame rtm_message json_roundtrip token form http_request websocket_frames)
targets=()
runs=""
seed="${KWM_FUZZ_SEED:-1}"
grow=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --grow) grow=1; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
seconds="${1:-10}"
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

if ! command -v clang++-14 >/dev/null || [ ! -d /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
fi
cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKWM_FUZZ=ON -DKWM_BUILD_TESTS=OFF -DKWM_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz --target "${targets[@]/#/kwm_fuzz_}"

# Belt and braces: the build already makes every sanitizer report fatal.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
mkdir -p build/fuzz/logs build/fuzz/artifacts
for target in "${targets[@]}"; do
  if [ "${grow}" = 1 ]; then
    corpus="build/fuzz/corpus/${target}"
  else
    corpus="build/fuzz/run/${target}"
    rm -rf "${corpus}"
  fi
  mkdir -p "${corpus}"
  limit=(-max_total_time="${seconds}")
  [ -z "${runs}" ] || limit=(-runs="${runs}")
  # rtm_message's input is a list of decisions: 1 KiB of them already builds large frames.
  max_len=65536
  [ "${target}" != rtm_message ] || max_len=1024
  options=(-seed="${seed}" "${limit[@]}" -max_len="${max_len}" -timeout="${KWM_FUZZ_TIMEOUT:-10}" -print_final_stats=1
           -artifact_prefix="build/fuzz/artifacts/${target}-")
  case "${target}" in
    rtm_frame | rtm_message | json_roundtrip) options+=(-dict=fuzz/rtm.dict) ;;
  esac
  log="build/fuzz/logs/${target}.log"
  command=("build/fuzz/kwm_fuzz_${target}" "${options[@]}" "${corpus}" "fuzz/corpus/${target}"
           "fuzz/regressions/${target}")
  echo "fuzzing ${target}: ${command[*]}"
  status=0
  "${command[@]}" >"${log}" 2>&1 || status=$?
  if [ "${status}" != 0 ] || grep -qE 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|D19 violated|json round trip:' "${log}"; then
    cat "${log}"
    echo "fuzz: ${target} FAILED (exit ${status}); log ${log}; artifacts in build/fuzz/artifacts/" >&2
    exit 1
  fi
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -n 1)
  echo "  ${target}: ${executions:-?} executions, no finding (seed ${seed})"
done
echo "fuzz: all targets ran without findings"
