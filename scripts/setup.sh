#!/usr/bin/env bash
# Everything the demo and the tests need, from a fresh clone: system packages and CRIU
# (provision.sh), npm dependencies, the addon and the compiled TypeScript. Idempotent.
#   scripts/setup.sh [--test]     --test also provisions the test-only fixtures
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/provision.sh "$@"

# node-gyp must build against the installed Node's headers: there is no network for downloads.
if [ -z "$(npm config get nodedir 2>/dev/null | grep -v undefined || true)" ] && [ -f /usr/include/node/node_api.h ]; then
  export npm_config_nodedir=/usr
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm dependencies (builds the addon and the TypeScript)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
addon=build/Release/freezedry.node
if [ ! -f "$addon" ] || [ ! -x build/Release/freezedry-init ] || [ -n "$(find native binding.gyp -newer "$addon" -print -quit)" ]; then
  echo "[setup] building the native addon" >&2
  npm run --silent build:native >/dev/null
fi
npm run --silent build:ts
