#!/usr/bin/env bash
# Signature verification next to the machine's limit, measured in one run:
# `openssl speed ed25519` on one core and on all cores, then bench-crypto, then a summary
# of verifies/s and of the batch verifier's scaling (target: >= 90 % of cores x one core).
#
#   bench/run-crypto.sh [build dir]      (default: build)
set -euo pipefail
build=${1:-build}
bench=$build/bin/bench-crypto
[ -x "$bench" ] || { echo "no $bench: cmake --build $build --target bench-crypto" >&2; exit 1; }
cores=$(nproc)
seconds=${SECONDS_PER_RUN:-3}

# The last field of the Ed25519 row of `openssl speed` is verifies/s.
openssl_verifies() { awk '/Ed25519/ && !/^Doing/ { rate = $NF } END { print rate }'; }

echo "machine: $cores cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
one=$(openssl speed -seconds "$seconds" ed25519 2>/dev/null | openssl_verifies)
all=$(openssl speed -seconds "$seconds" -multi "$cores" ed25519 2>/dev/null | openssl_verifies)

csv=$(mktemp)
trap 'rm -f "$csv"' EXIT
"$bench" --benchmark_min_time="$seconds" --benchmark_out="$csv" --benchmark_out_format=csv
# CSV columns: name, iterations, real_time, cpu_time, time_unit, bytes/s, items/s, ...
rate() { awk -F, -v name="\"$1\"" '$1 == name { printf "%.0f", $7 }' "$csv"; }
single=$(rate BM_Verify/real_time)
batch_one=$(rate "BM_BatchVerifyVotes/1/real_time")
batch_all=$(rate "BM_BatchVerifyVotes/$cores/real_time")

echo
printf '%-44s %14s\n' "ed25519 verifies/s" ""
printf '%-44s %14s\n' "  openssl speed, 1 core" "$one"
printf '%-44s %14s\n' "  openssl speed, $cores cores" "$all"
printf '%-44s %14s\n' "  bftcrypto (libsodium), 1 core" "$single"
printf '%-44s %14s\n' "  BatchVerifier::verify_votes, 1 thread" "$batch_one"
printf '%-44s %14s\n' "  BatchVerifier::verify_votes, $cores threads" "$batch_all"
# Scaling: the batch verifier on all cores against cores x one core, and the same ratio
# for openssl, which is what this machine allows (shared or throttled cores show here).
awk -v all="$batch_all" -v one="$single" -v n="$cores" -v ossl_all="$all" -v ossl_one="$one" 'BEGIN {
  ours = all / (n * one); machine = ossl_all / (n * ossl_one)
  printf "%-44s %13.1f%%\n", "  batch scaling: all / (cores x 1 core)", 100 * ours
  printf "%-44s %13.1f%%\n", "  openssl scaling: all / (cores x 1 core)", 100 * machine
  printf "%-44s %13.1f%%\n", "  batch scaling relative to openssl", 100 * ours / machine
}'
printf '%-44s %14s\n' "vote encode/s (1 core, reused buffer)" "$(rate BM_EncodeVote)"
printf '%-44s %14s\n' "vote decode/s (1 core)" "$(rate BM_DecodeVote)"
