#!/usr/bin/env bash
# The main job named in README.md: installs dependencies, builds, and starts a node with the
# embedded defaults (a one-partner demo coalition in ./data, RPC on 127.0.0.1).
# Extra arguments go to `pointchain-node run`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "run.sh: installing dependencies and building (a few minutes the first time)..."
scripts/install-deps.sh >/dev/null
scripts/build.sh normal >/dev/null
exec build/bin/pointchain-node run "$@"
