#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs missing packages, builds, and
# runs a local 4-validator cluster committing 300 heights, with live progress and a
# summary. Extra arguments go to bft-sim (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target bft-sim
exec ./build/bin/bft-sim --validators 4 --heights 300 --seed 1 "$@"
