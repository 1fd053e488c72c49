#!/usr/bin/env bash
# Installs what the browser test needs: Debian's Chromium, node with npm, and puppeteer-core
# in build/browser. Safe to run again; exits non-zero when something cannot be installed
# (the browser test then skips itself with a message).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -f build/browser/node_modules/puppeteer-core/package.json ]; then
  mkdir -p build/browser
  npm install --prefix build/browser --no-audit --no-fund --loglevel=error puppeteer-core@25 >/dev/null
fi
