#!/usr/bin/env bash
# Installs the Debian 12 packages kwmserverd needs to build and test (run as root).
# Does nothing when everything is present already.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libcaf-dev libboost1.74-dev rapidjson-dev doctest-dev libssl-dev
  libcli11-dev libspdlog-dev libcjose-dev libjansson-dev libyaml-cpp-dev libsystemd-dev libre2-dev
  libhiredis-dev
)
# Only the test suite needs these: a TURN server, the fuzzing toolchain, systemd-analyze,
# a Redis for the cluster tests (the browser test installs Chromium and node itself:
# scripts/browser-setup.sh).
if [ "${1:-}" = "--test" ]; then
  packages+=(coturn openssl clang-14 libclang-rt-14-dev systemd redis-server)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
