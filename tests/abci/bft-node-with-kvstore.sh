#!/usr/bin/env bash
# bft-node in front of its own kvstore.py on a Unix socket beside its config file: a
# drop-in for `bft-cluster --node-bin`, to run bft-cluster's load and faults against a
# cluster of Python ABCI applications (the benchmark of docs/ABCI.md).
#   BFT_NODE_BIN=build/bin/bft-node BFT_ABCI_PYTHONPATH=build/abci-python \
#     bft-cluster --node-bin tests/abci/bft-node-with-kvstore.sh --nodes 4 --load 2000 ...
# The application is started first and exits when bft-node does (--exit-with-parent:
# bft-node takes this script's process by exec).
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
config=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--config" ] && config=${args[$((i + 1))]}
done
[ -n "$config" ] || { echo "bft-node-with-kvstore: --config is required" >&2; exit 2; }
socket="${config%.json}.app.sock"
PYTHONPATH=${BFT_ABCI_PYTHONPATH:?set it to the generated ABCI Python modules} \
  "${BFT_ABCI_PYTHON:-/usr/bin/python3}" "$here/kvstore.py" --listen "unix://$socket" --exit-with-parent &
exec "${BFT_NODE_BIN:?set it to bft-node}" "$@" --abci "unix://$socket"
