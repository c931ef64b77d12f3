#!/usr/bin/env bash
# check_cluster_run.sh MIN_HEIGHTS BFT-CLUSTER ARGS...
# Runs bft-cluster (which must be given --json) and checks the JSON object on the last line
# of its stdout: agreement, a clean shutdown, every fault recovered ("ok", which bft-cluster
# also derives its exit status from), every accepted command committed exactly once ("lost"
# and "committed_twice" 0) and at least MIN_HEIGHTS heights on every node.
# bft-cluster's 77 (--netns unusable here) is passed on for CTest's SKIP_RETURN_CODE.
set -uo pipefail
min_heights=$1
shift
out=$("$@")
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 77 ] && exit 77
last=$(printf '%s\n' "$out" | tail -n 1)
fail() { echo "check_cluster_run: $*" >&2; exit 1; }
[ "$rc" -eq 0 ] || fail "bft-cluster exited with $rc"
for field in '"agreement":true' '"clean_shutdown":true' '"ok":true' '"lost":0' '"committed_twice":0'; do
  [[ $last == *"$field"* ]] || fail "the JSON line lacks $field"
done
[[ $last =~ \"heights\":([0-9]+) ]] || fail "the JSON line has no heights"
[ "${BASH_REMATCH[1]}" -ge "$min_heights" ] || fail "heights ${BASH_REMATCH[1]} < $min_heights"
echo "check_cluster_run: passed"
