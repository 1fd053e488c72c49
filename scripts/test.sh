#!/usr/bin/env bash
# Installs what is missing, builds everything, runs a short fuzz pass over every libFuzzer
# target, then the whole test suite (ctest's summary is the last line).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/test
scripts/fuzz.sh "${KWM_FUZZ_SECONDS:-5}"
cd build/test
ctest --output-on-failure -j2
