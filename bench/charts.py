#!/usr/bin/env python3
"""Draws docs/charts/*.svg from the JSON line `bft-bench --json` ends with (stdlib only).

    build/bin/bft-bench --json | tail -1 > bench.json
    bench/charts.py bench.json [out dir]        (default out dir: docs/charts)

Charts: core votes/s vs validators, runtime msgs/s vs validators (with the Rust seed's
published figures for comparison), in-process cluster heights/s vs nodes, and simulated
commit latency vs link delay.
"""
import json
import math
import os
import sys

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 80, 30, 40, 60
COLORS = ["#1f77b4", "#d62728", "#2ca02c"]

# The Rust seed library on this machine kind (the benchmark issue's figures).
SEED_RUNTIME_MSGS_PER_SEC = {4: 259e3, 16: 645e3, 64: 423e3, 128: 365e3}


def human(value):
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def nice_max(value):
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def chart(title, x_label, y_label, series, log_x=False):
    """series: list of (name, [(x, y), ...]); returns the SVG text."""
    xs = [x for _, points in series for x, _ in points]
    y_max = nice_max(max(y for _, points in series for _, y in points))
    tx = (lambda x: math.log2(x)) if log_x else (lambda x: x)
    x_lo, x_hi = tx(min(xs)), tx(max(xs))
    x_lo = x_lo if log_x else 0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x):
        return LEFT + (tx(x) - x_lo) / ((x_hi - x_lo) or 1) * plot_w

    def py(y):
        return TOP + plot_h - y / y_max * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>']
    for i in range(5):  # horizontal grid and y ticks
        y = y_max * i / 4
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{human(y)}</text>')
    for x in sorted(set(xs)):  # x ticks at the measured points
        out.append(f'<text x="{px(x):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{x:g}</text>')
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 15}" text-anchor="middle">{x_label}</text>')
    out.append(f'<text transform="translate(18 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">{y_label}</text>')
    for index, (name, points) in enumerate(series):
        color = COLORS[index % len(COLORS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(points))
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in points:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}"><title>{x:g}: {y:g}</title></circle>')
        legend_y = TOP + 8 + 16 * index
        out.append(f'<rect x="{WIDTH - RIGHT - 190}" y="{legend_y}" width="12" height="3" fill="{color}"/>')
        out.append(f'<text x="{WIDTH - RIGHT - 172}" y="{legend_y + 5}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def points(figures, key):
    return [(float(x), float(y)) for x, y in figures[key].items()]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as source:
        figures = json.loads(source.read().strip().splitlines()[-1])
    out_dir = sys.argv[2] if len(sys.argv) > 2 else "docs/charts"
    os.makedirs(out_dir, exist_ok=True)
    machine = figures["machine"]
    where = f'{machine["nproc"]} × {machine["cpu"]}, {machine["date"]}'
    charts = {
        "core_votes_per_sec.svg": chart(
            f"Pure core: votes/s on one core ({where})", "validators (log scale)", "votes per second",
            [("bft::Core, happy path", points(figures, "core_votes_per_sec"))], log_x=True),
        "runtime_msgs_per_sec.svg": chart(
            "Seed workload through bft::runtime::Bft (one node under test)", "validators (log scale)",
            "messages per second",
            [("bftcore runtime", points(figures, "runtime_msgs_per_sec")),
             ("bftcore runtime, laggard help on", points(figures, "runtime_msgs_per_sec_laggard_help")),
             ("Rust seed (published)", [(float(n), r) for n, r in SEED_RUNTIME_MSGS_PER_SEC.items()])],
            log_x=True),
        "cluster_heights_per_sec.svg": chart(
            "In-process cluster of seed-style handles, every message delivered", "nodes",
            "heights per second", [("bftcore runtime", points(figures, "inproc_cluster_heights_per_sec_by_nodes"))]),
        "sim_latency_vs_delay.svg": chart(
            "Simulated p50 commit latency, 4 validators, fixed link delay", "link delay (ms)",
            "commit latency (ms)", [("bft-sim p50", points(figures, "sim_latency_ms_by_delay"))]),
    }
    for name, svg in charts.items():
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as target:
            target.write(svg)
        print("wrote", os.path.join(out_dir, name))


if __name__ == "__main__":
    main()
