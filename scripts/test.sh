#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs missing packages, then
# builds and tests two configurations. First Debug with AddressSanitizer and
# UndefinedBehaviorSanitizer, then the release build (warnings are errors in both), whose
# ctest summary is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh

jobs=$(nproc)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== configuration: asan (Debug, AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

echo "== configuration: default (RelWithDebInfo, warnings as errors)"
cmake --preset default
cmake --build --preset default -j "$jobs"
ctest --preset default -j "$jobs"
