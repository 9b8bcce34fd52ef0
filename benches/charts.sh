#!/usr/bin/env bash
# Charts drawn by plotters (criterion, benches/charts.rs) and the same figure
# by matplotlib (benches/charts_matplotlib.py), in one run, with the ratio.
#
#   bash benches/charts.sh
#
# Needs python3 with matplotlib (pip install matplotlib).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/trustpulse-target}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --bench charts -- --noplot 2>/dev/null | tee /tmp/trustpulse-charts-bench.txt | grep -E "^(png|svg)|time:"
python3 benches/charts_matplotlib.py "$CARGO_TARGET_DIR/charts-fixture.json" 30 | tee /tmp/trustpulse-charts-mpl.txt
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - <<'PY'
import re
rust = open("/tmp/trustpulse-charts-bench.txt").read()
mpl = open("/tmp/trustpulse-charts-mpl.txt").read()
def criterion(name):
    block = rust.split(name, 1)[1]
    lo, mid, hi = re.search(r"time:\s+\[([\d.]+) (\w+) ([\d.]+) \w+ ([\d.]+) \w+\]", block).group(1, 3, 4)
    unit = re.search(r"time:\s+\[[\d.]+ (\w+)", block).group(1)
    scale = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    return float(mid) * scale
for fmt in ("png", "svg"):
    ours = criterion(f"{fmt}: 8 groups x 130 weeks")
    theirs = float(re.search(rf"matplotlib {fmt}: median ([\d.]+)", mpl).group(1))
    print(f"{fmt}: plotters {ours:.2f} ms, matplotlib {theirs:.1f} ms: {theirs / ours:.0f}x faster")
PY
