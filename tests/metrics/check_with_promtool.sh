#!/bin/sh
# Pipes the exposition printed by $1 into `promtool check metrics`; passes only when
# promtool reports no problem at all. Exit 77 (skipped) without promtool.
set -u
command -v promtool >/dev/null 2>&1 || { echo "promtool not installed: skipped"; exit 77; }
exposition=$("$1") || { echo "$1 failed"; exit 1; }
problems=$(printf '%s\n' "$exposition" | promtool check metrics 2>&1)
status=$?
if [ $status -ne 0 ] || [ -n "$problems" ]; then
  printf 'promtool check metrics (exit %s):\n%s\n' "$status" "$problems"
  exit 1
fi
echo "promtool check metrics: no problems"
