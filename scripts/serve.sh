#!/usr/bin/env bash
# Installs what is missing, builds kwmserverd (Release) and runs it on 127.0.0.1:8778.
# Extra arguments go to `kwmserverd serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DKWM_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target kwmserverd
exec build/release/kwmserverd serve "$@"
