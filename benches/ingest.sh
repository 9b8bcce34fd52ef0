#!/usr/bin/env bash
# Ingest under load, against the bare batched insert of the same rows, in one
# run on copies of one store (release build).
#
#   bash benches/ingest.sh                     # SQLite, 1M demo store
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432 bash benches/ingest.sh
#   BENCH_ONLY=pg BENCH_PG_URL=… bash benches/ingest.sh   # PostgreSQL only
#
# SQLite: one server, wrk -t2 -c64 with benches/ingest.lua (every request a
# fresh submission); the bare insert is `cargo bench --bench ingest` (64 per
# transaction, no HTTP). Then GET /healthz against a bare actix-web route
# (benches/bare_route.rs), CPU per request from /proc. With BENCH_PG_URL: two
# servers on one PostgreSQL database, 32 connections each, against the bare
# insert into the same server. Prints medians over BENCH_RUNS runs (default 3)
# with their range, and the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/trustpulse-target}"
RESPONSES="${BENCH_RESPONSES:-1000000}"
SECONDS_EACH="${BENCH_SECONDS:-20}"
RUNS="${BENCH_RUNS:-3}"
WORK="${BENCH_DIR:-/tmp/trustpulse-ingest-bench}"
mkdir -p "$WORK"

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --locked --quiet
cargo bench --locked --no-run --bench ingest --bench bare_route 2>&1 | tail -n 1
BIN="$CARGO_TARGET_DIR/release/trustpulse"
bench_bin() { ls -t "$CARGO_TARGET_DIR"/release/deps/"$1"-* | grep -v '\.d$' | head -n 1; }
BARE="$(bench_bin ingest)"
BARE_ROUTE="$(bench_bin bare_route)"

BASE="$WORK/base-$RESPONSES.db"
if [ ! -f "$BASE" ]; then
    "$BIN" --database-url "sqlite://$BASE" demo --responses "$RESPONSES" >/dev/null
    # Compacted once here, so no run starts with the first compaction of the past.
    "$BIN" --database-url "sqlite://$BASE" compact 2>/dev/null
fi
fresh_copy() { rm -f "$1" "$1-wal" "$1-shm"; cp "$BASE" "$1"; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_hz=$(getconf CLK_TCK)
# Median and range of a list of numbers.
summary() { sort -g | awk '{v[NR]=$1} END {printf "%s (%s-%s)", v[int((NR+1)/2)], v[1], v[NR]}'; }

start_server() { # url port [extra env...]
    local url=$1 port=$2; shift 2
    env TRUSTPULSE_SUBMIT_RATE=1000000000 TRUSTPULSE_METRICS_BIND=off "$@" \
        "$BIN" --database-url "$url" serve --bind "127.0.0.1:$port" >"$WORK/server-$port.log" 2>&1 &
    echo $!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "server on $port did not start" >&2
    return 1
}

if [ "${BENCH_ONLY:-}" != pg ]; then
echo "== SQLite, $RESPONSES responses, wrk -t2 -c64 -d${SECONDS_EACH}s, $RUNS runs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/http.txt"; : >"$WORK/bare.txt"; : >"$WORK/p99.txt"; : >"$WORK/cpu.txt"
for run in $(seq 1 "$RUNS"); do
    fresh_copy "$WORK/bare.db"
    BENCH_DB="sqlite://$WORK/bare.db" BENCH_SECONDS="$SECONDS_EACH" "$BARE" | tee -a "$WORK/bare.log" |
        sed -E 's/.*= ([0-9]+)\/s.*/\1/' >>"$WORK/bare.txt"
    fresh_copy "$WORK/http.db"
    pid=$(start_server "sqlite://$WORK/http.db" 18181)
    before=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c64 -d"${SECONDS_EACH}s" -s benches/ingest.lua http://127.0.0.1:18181 | tail -n 1)
    after=$(cpu_ticks "$pid")
    echo "run $run: $out; bare $(tail -n 1 "$WORK/bare.txt")/s; load $(cut -d' ' -f1 /proc/loadavg)"
    requests=$(echo "$out" | sed -E 's/wrk: ([0-9]+) requests.*/\1/')
    echo "$out" | sed -E 's/.* ([0-9]+) req\/s.*/\1/' >>"$WORK/http.txt"
    echo "$out" | sed -E 's/.*p99 ([0-9.]+) ms.*/\1/' >>"$WORK/p99.txt"
    awk -v t=$((after - before)) -v hz="$tick_hz" -v n="$requests" 'BEGIN {printf "%.0f\n", t / hz / n * 1e6}' >>"$WORK/cpu.txt"
    kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    created=$(echo "$out" | awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "requests,") r = $i; for (i = 1; i < NF; i++) if ($i == "non-2xx") e = $(i + 1); print r - e}')
    stored=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM responses').fetchone()[0] - $RESPONSES)" "$WORK/http.db")
    echo "  acknowledged 201 seen by wrk: $created; new rows stored: $stored (requests still in flight when wrk stopped are stored, not counted)"
done
http=$(summary <"$WORK/http.txt"); bare=$(summary <"$WORK/bare.txt")
echo "HTTP ingest: $http submissions/s, p99 $(summary <"$WORK/p99.txt") ms, server CPU $(summary <"$WORK/cpu.txt") µs per submission"
echo "bare batched insert: $bare submissions/s"
paste "$WORK/http.txt" "$WORK/bare.txt" | awk '{printf "%.2f\n", $1 / $2}' | summary | sed 's/^/ratio HTTP \/ bare (per run): /'; echo

echo "== GET /healthz vs a bare actix-web route: CPU per request (wrk -t2 -c64 -d10s, $RUNS runs)"
fresh_copy "$WORK/http.db"
pid=$(start_server "sqlite://$WORK/http.db" 18182 RUST_LOG=info)
BARE_ROUTE_BIND=127.0.0.1:18183 "$BARE_ROUTE" >/dev/null 2>&1 &
bare_pid=$!
sleep 0.5
per_request() { # pid url
    local b a n
    b=$(cpu_ticks "$1")
    n=$(wrk -t2 -c64 -d10s "$2" | awk '/requests in/ {print $1}')
    a=$(cpu_ticks "$1")
    awk -v t=$((a - b)) -v hz="$tick_hz" -v n="$n" 'BEGIN {printf "%.1f µs (%d requests)", t / hz / n * 1e6, n}'
}
: >"$WORK/hz-ratio.txt"
for run in $(seq 1 "$RUNS"); do
    # Alternating, so a change in the machine's load falls on both alike.
    health=$(per_request "$pid" http://127.0.0.1:18182/healthz)
    bare_cpu=$(per_request "$bare_pid" http://127.0.0.1:18183/)
    echo "run $run: /healthz $health; bare actix-web route $bare_cpu; load $(cut -d' ' -f1 /proc/loadavg)"
    awk -v h="${health%% *}" -v b="${bare_cpu%% *}" 'BEGIN {printf "%.2f\n", h / b}' >>"$WORK/hz-ratio.txt"
done
echo "CPU per request, /healthz / bare route (per run): $(summary <"$WORK/hz-ratio.txt")"
kill -TERM "$pid" "$bare_pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
echo "INFO log after all that: $(wc -l <"$WORK/server-18182.log") lines"
fi

if [ -n "${BENCH_PG_URL:-}" ]; then
    echo
    echo "== PostgreSQL: two servers on one database (32 connections each) vs the bare insert; load $(cut -d' ' -f1-3 /proc/loadavg)"
    psql "$BENCH_PG_URL/postgres" -qc "DROP DATABASE IF EXISTS tp_ingest_base" -c "CREATE DATABASE tp_ingest_base"
    "$BIN" --database-url "$BENCH_PG_URL/tp_ingest_base" demo --responses "$RESPONSES" >/dev/null
    "$BIN" --database-url "$BENCH_PG_URL/tp_ingest_base" compact 2>&1 | tail -n 1
    # Each run starts from a copy of the 1M database: copied as files (the
    # default copy writes it all to the WAL, 530 MB, and the checkpoints that
    # forces land in the run), then a checkpoint and a sync, so a run
    # measures ingest, not that copy's write-back.
    settle() { psql "$BENCH_PG_URL/postgres" -qc "CHECKPOINT"; sync; sleep 2; }
    : >"$WORK/pg-http.txt"; : >"$WORK/pg-bare.txt"; : >"$WORK/pg-p99.txt"
    for run in $(seq 1 "$RUNS"); do
        psql "$BENCH_PG_URL/postgres" -qc "DROP DATABASE IF EXISTS tp_ingest" -c "CREATE DATABASE tp_ingest TEMPLATE tp_ingest_base STRATEGY FILE_COPY"
        settle
        BENCH_DB="$BENCH_PG_URL/tp_ingest" BENCH_SECONDS="$SECONDS_EACH" "$BARE" |
            sed -E 's/.*= ([0-9]+)\/s.*/\1/' >>"$WORK/pg-bare.txt"
        psql "$BENCH_PG_URL/postgres" -qc "DROP DATABASE IF EXISTS tp_ingest" -c "CREATE DATABASE tp_ingest TEMPLATE tp_ingest_base STRATEGY FILE_COPY"
        settle
        a=$(start_server "$BENCH_PG_URL/tp_ingest" 18184)
        b=$(start_server "$BENCH_PG_URL/tp_ingest" 18185)
        wrk -t1 -c32 -d"${SECONDS_EACH}s" -s benches/ingest.lua http://127.0.0.1:18184 | tail -n 1 >"$WORK/pg-a.txt" &
        wrk -t1 -c32 -d"${SECONDS_EACH}s" -s benches/ingest.lua http://127.0.0.1:18185 | tail -n 1 >"$WORK/pg-b.txt"
        wait %1 2>/dev/null || true; sleep 1
        kill -TERM "$a" "$b"; while kill -0 "$a" 2>/dev/null || kill -0 "$b" 2>/dev/null; do sleep 0.1; done
        echo "run $run: A $(cat "$WORK/pg-a.txt"); B $(cat "$WORK/pg-b.txt"); bare $(tail -n 1 "$WORK/pg-bare.txt")/s"
        cat "$WORK/pg-a.txt" "$WORK/pg-b.txt" | sed -E 's/.* ([0-9]+) req\/s.*/\1/' | paste -sd+ | bc >>"$WORK/pg-http.txt"
        cat "$WORK/pg-a.txt" "$WORK/pg-b.txt" | sed -E 's/.*p99 ([0-9.]+) ms.*/\1/' | sort -g | tail -n 1 >>"$WORK/pg-p99.txt"
    done
    echo "two instances together: $(summary <"$WORK/pg-http.txt") submissions/s, p99 (the worse of the two) $(summary <"$WORK/pg-p99.txt") ms"
    echo "bare batched insert: $(summary <"$WORK/pg-bare.txt") submissions/s"
    paste "$WORK/pg-http.txt" "$WORK/pg-bare.txt" | awk '{printf "%.2f\n", $1 / $2}' | summary | sed 's/^/ratio (per run): /'; echo
    psql "$BENCH_PG_URL/postgres" -qc "DROP DATABASE IF EXISTS tp_ingest" -c "DROP DATABASE IF EXISTS tp_ingest_base"
fi
