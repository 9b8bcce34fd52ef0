#!/usr/bin/env bash
# Resident memory of the server under mixed load on the 1M store: 16
# connections submitting (benches/ingest.lua) while 48 read series, draw
# charts at new sizes and render dashboard views (benches/mixed_reads.lua),
# for BENCH_SECONDS (default 60). Samples VmRSS every second; prints the
# start, the median, the peak and the value 10 s after the load stops.
#
#   bash benches/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/trustpulse-target}"
SECONDS_EACH="${BENCH_SECONDS:-60}"
WORK="${BENCH_DIR:-/tmp/trustpulse-ingest-bench}"
mkdir -p "$WORK"
cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/trustpulse"
BASE="$WORK/base-1000000.db"
[ -f "$BASE" ] || { "$BIN" --database-url "sqlite://$BASE" demo --responses 1000000 >/dev/null; "$BIN" --database-url "sqlite://$BASE" compact 2>/dev/null; }
rm -f "$WORK/mem.db" "$WORK/mem.db-wal" "$WORK/mem.db-shm"; cp "$BASE" "$WORK/mem.db"
TRUSTPULSE_SUBMIT_RATE=1000000000 TRUSTPULSE_METRICS_BIND=off \
    "$BIN" --database-url "sqlite://$WORK/mem.db" serve --bind 127.0.0.1:18186 >"$WORK/mem.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18186/healthz >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }
start=$(rss)
wrk -t1 -c16 -d"${SECONDS_EACH}s" -s benches/ingest.lua http://127.0.0.1:18186 >"$WORK/mem-ingest.txt" 2>&1 &
wrk -t1 -c48 -d"${SECONDS_EACH}s" --timeout 30s -s benches/mixed_reads.lua http://127.0.0.1:18186 >"$WORK/mem-reads.txt" 2>&1 &
: >"$WORK/rss.txt"
for _ in $(seq 1 "$SECONDS_EACH"); do rss >>"$WORK/rss.txt"; sleep 1; done
wait %2 %3 2>/dev/null || wait
sleep 10
after=$(rss)
threads=$(awk '/Threads/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
median=$(sort -n "$WORK/rss.txt" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
peak=$(sort -n "$WORK/rss.txt" | tail -n 1)
echo "resident memory (MB): at start $start, median under load $median, peak $peak, 10 s after $after ($threads threads); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "submissions: $(tail -n 1 "$WORK/mem-ingest.txt")"
echo "reads: $(grep -E 'Requests/sec|requests in|Non-2xx' "$WORK/mem-reads.txt" | tr -s ' ' | tr '\n' ';')"
