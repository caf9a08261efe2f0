#!/usr/bin/env bash
# The demo: sets everything up, then checkpoints and restores a live, stateful Node service.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
exec node lib/demo/main.js "$@"
