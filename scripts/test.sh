#!/usr/bin/env bash
# Installs what is missing, builds everything, runs a short fuzz pass over every libFuzzer
# target (fixed seed), the whole test suite (with the fuzz corpus and regression replays),
# and the whole suite again under ASan + UBSan (any sanitizer report fails it). ctest's
# summary of the sanitizer run is the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/browser-setup.sh || echo "browser setup failed: the browser test will report itself skipped"
# KWM_CHECK_OUTPUT: every frame and JSON body the server writes in any test is checked (D19).
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKWM_CHECK_OUTPUT=ON >/dev/null
cmake --build build/test
scripts/fuzz.sh "${KWM_FUZZ_SECONDS:-5}"
(cd build/test && ctest --output-on-failure -j2)
if [ "${KWM_SKIP_SANITIZERS:-0}" != 1 ]; then
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKWM_SANITIZE=address \
    -DKWM_CHECK_OUTPUT=ON >/dev/null
  cmake --build build/asan
  (cd build/asan && ctest --output-on-failure -j2)
fi
