#!/usr/bin/env bash
# Installs what is missing, builds everything, runs a short fuzz pass over every libFuzzer
# target (fixed seed), the whole test suite (with the fuzz corpus and regression replays),
# and the whole suite again under ASan + UBSan (any sanitizer report fails it), printing how
# long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
started=${SECONDS}
# Each phase's duration, so that a CI log says where the time went.
phase() { echo "== test.sh: $1 done after $((SECONDS - started)) s"; }
scripts/install-deps.sh --test
scripts/browser-setup.sh || echo "browser setup failed: the browser test will report itself skipped"
phase "installing"
# KWM_CHECK_OUTPUT: every frame and JSON body the server writes in any test is checked (D19).
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKWM_CHECK_OUTPUT=ON >/dev/null
cmake --build build/test
phase "the test build"
scripts/fuzz.sh "${KWM_FUZZ_SECONDS:-5}"
phase "the fuzz smoke"
(cd build/test && ctest --output-on-failure -j2)
phase "the test suite"
if [ "${KWM_SKIP_SANITIZERS:-0}" != 1 ]; then
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKWM_SANITIZE=address \
    -DKWM_CHECK_OUTPUT=ON >/dev/null
  cmake --build build/asan
  phase "the sanitizer build"
  (cd build/asan && ctest --output-on-failure -j2)
  phase "the suite under ASan + UBSan"
fi
