#!/usr/bin/env python3
"""Runs `bft-bench --quick --json` and checks the shape of its last line: every key is
present, every figure is a positive number. Never a speed threshold.

    check_bench_json.py path/to/bft-bench
"""
import json
import subprocess
import sys

CORE_SIZES = ["4", "16", "64", "128", "256", "1024"]
RUNTIME_SIZES = ["4", "16", "64", "128"]
EXPECTED = {
    "core_votes_per_sec": CORE_SIZES,
    "core_ns_per_vote": CORE_SIZES,
    "core_bytes_per_validator": CORE_SIZES,
    "runtime_msgs_per_sec": RUNTIME_SIZES,
    "runtime_heights_per_sec": RUNTIME_SIZES,
    "runtime_peak_rss_mb": RUNTIME_SIZES,
    "inproc_cluster_heights_per_sec": None,
    "inproc_cluster_msgs_per_height": None,
    "inproc_cluster_heights_per_sec_by_nodes": ["4", "7", "10", "16"],
    "codec_vote_roundtrips_per_sec": None,
    "ed25519_verify_per_sec_1core": None,
    "ed25519_verify_per_sec_allcores": None,
    "openssl_ed25519_verify_per_sec": ["1core", "allcores"],
    "wal_append_fsync_us": None,
    "raw_fdatasync_us": None,
    "sim_heights_per_sec": ["4", "100"],
    "sim_latency_ms_by_delay": ["1", "5", "10", "20", "50", "100"],
}


def positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def main():
    run = subprocess.run([sys.argv[1], "--quick", "--json"], capture_output=True, text=True, timeout=100)
    if run.returncode != 0:
        sys.exit(f"bft-bench exited with {run.returncode}:\n{run.stderr}")
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    problems = []
    machine = figures.get("machine", {})
    if not positive(machine.get("nproc")) or not machine.get("cpu") or not machine.get("date"):
        problems.append(f"machine: {machine}")
    for key, sizes in EXPECTED.items():
        value = figures.get(key)
        if sizes is None:
            if not positive(value):
                problems.append(f"{key}: {value!r}")
        elif not isinstance(value, dict) or any(not positive(value.get(size)) for size in sizes):
            problems.append(f"{key}: {value!r}")
    if problems:
        sys.exit("bad figures:\n  " + "\n  ".join(problems))
    print("bft-bench --quick --json: all", len(EXPECTED), "figures present and positive")


if __name__ == "__main__":
    main()
