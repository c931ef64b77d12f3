#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs missing packages, builds, and
# runs a local cluster of 4 bft-node validator processes for 20 s under a key-value load,
# with live progress, an agreement check and a summary. Extra arguments go to
# bft-cluster (try --help; e.g. --kill 1@5:8, or --netns --partition 3@5:10 as root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target bft-cluster bft-node
exec ./build/bin/bft-cluster --nodes 4 --duration 20 "$@"
