#!/usr/bin/env bash
# Exports and import with a large store, measured in one run so that the
# figures compare: the demo load, the microdata export (CLI, and over HTTP
# with the time to the first byte and the server's peak memory) against
# `sqlite3 -csv` dumping the same table, the import of that export into a
# fresh store, and the round trip (the re-export must be byte-identical).
#
#   bash benches/exports.sh                      # 1,000,000 responses, 3 runs
#   BENCH_RESPONSES=100000 BENCH_RUNS=5 bash benches/exports.sh
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432 bash benches/exports.sh   # PostgreSQL too
#
# Needs: sqlite3, curl, GNU time (/usr/bin/time). Writes under $BENCH_DIR
# (default /tmp/trustpulse-exports-bench, about 1.5 GB at 1M).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_RESPONSES:-1000000}"
RUNS="${BENCH_RUNS:-3}"
DIR="${BENCH_DIR:-/tmp/trustpulse-exports-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked -q
BIN="$CARGO_TARGET_DIR/release/trustpulse"
mkdir -p "$DIR"
SURVEY=digital-trust

# `timed LABEL COMMAND…`: one line with wall seconds and peak memory.
timed() {
    local label="$1"
    shift
    /usr/bin/time -f "$label: %e s wall, %U s user, %M KB peak" "$@" 2>&1 >/dev/null |
        grep -F "$label:"
}

load() { echo "machine load: $(cut -d' ' -f1-3 /proc/loadavg)"; }

echo "== $N responses, $RUNS runs, $(nproc) cores"
load

echo "== demo load (SQLite, WAL, synchronous=FULL, aggregates included)"
for run in $(seq "$RUNS"); do
    rm -f "$DIR"/demo.db*
    timed "demo load $run" "$BIN" --database-url "sqlite://$DIR/demo.db" demo --responses "$N"
done
load

echo "== microdata export (CLI) and sqlite3 -csv of the same table, alternating"
for run in $(seq "$RUNS"); do
    timed "trustpulse export $run" "$BIN" --database-url "sqlite://$DIR/demo.db" \
        export responses --survey "$SURVEY" --out "$DIR/responses.csv"
    timed "sqlite3 -csv $run" sh -c "sqlite3 -csv '$DIR/demo.db' 'SELECT * FROM responses' > '$DIR/dump.csv'"
done
echo "rows: $(($(wc -l <"$DIR/responses.csv") - 1)), $(du -h "$DIR/responses.csv" | cut -f1) (sqlite3: $(du -h "$DIR/dump.csv" | cut -f1))"
load

echo "== over HTTP: time to the first byte and in all; the server's peak memory"
TOKEN="$("$BIN" --database-url "sqlite://$DIR/demo.db" token create --role researcher 2>/dev/null)"
PORT=$((20000 + RANDOM % 20000))
/usr/bin/time -f "server peak memory: %M KB" -o "$DIR/server.time" \
    env TRUSTPULSE_METRICS_BIND=off "$BIN" --database-url "sqlite://$DIR/demo.db" serve --bind "127.0.0.1:$PORT" >"$DIR/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "the server did not start:"; cat "$DIR/server.log"; exit 1; }
for run in $(seq "$RUNS"); do
    curl -sf -H "Authorization: Bearer $TOKEN" -o "$DIR/http.csv" \
        -w "HTTP export $run: first byte %{time_starttransfer} s, all %{time_total} s, %{size_download} bytes\n" \
        "http://127.0.0.1:$PORT/api/v1/surveys/$SURVEY/responses.csv"
done
curl -sf -H "Authorization: Bearer $TOKEN" -o "$DIR/package.zip" \
    -w "HTTP data package: first byte %{time_starttransfer} s, all %{time_total} s, %{size_download} bytes\n" \
    "http://127.0.0.1:$PORT/api/v1/surveys/$SURVEY/datapackage.zip"
pkill -TERM -P "$SERVER" # the server, not the `time` that measures it
wait "$SERVER" || true
cat "$DIR/server.time"
cmp -s "$DIR/http.csv" "$DIR/responses.csv" && echo "HTTP and CLI bytes: identical"

echo "== import into a fresh store, then the round trip"
for run in $(seq "$RUNS"); do
    rm -f "$DIR"/import.db*
    "$BIN" --database-url "sqlite://$DIR/import.db" demo --responses 0 2>/dev/null
    timed "import $run" "$BIN" --database-url "sqlite://$DIR/import.db" \
        import --survey "$SURVEY" "$DIR/responses.csv"
done
"$BIN" --database-url "sqlite://$DIR/import.db" export responses --survey "$SURVEY" --out "$DIR/again.csv" 2>/dev/null
cmp "$DIR/again.csv" "$DIR/responses.csv" && echo "round trip: byte-identical"
timed "import again (every row already stored)" "$BIN" --database-url "sqlite://$DIR/import.db" \
    import --survey "$SURVEY" "$DIR/responses.csv"
load

if [ -n "${BENCH_PG_URL:-}" ]; then
    echo "== PostgreSQL at $BENCH_PG_URL"
    for db in tp_bench_demo tp_bench_import; do
        psql "$BENCH_PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    done
    timed "demo load (PostgreSQL)" "$BIN" --database-url "$BENCH_PG_URL/tp_bench_demo" demo --responses "$N"
    timed "export (PostgreSQL)" "$BIN" --database-url "$BENCH_PG_URL/tp_bench_demo" \
        export responses --survey "$SURVEY" --out "$DIR/pg.csv"
    timed "psql COPY of the same table" sh -c \
        "psql '$BENCH_PG_URL/tp_bench_demo' -qc '\\copy responses TO STDOUT CSV' > '$DIR/pg-dump.csv'"
    "$BIN" --database-url "$BENCH_PG_URL/tp_bench_import" demo --responses 0 2>/dev/null
    timed "import (PostgreSQL)" "$BIN" --database-url "$BENCH_PG_URL/tp_bench_import" \
        import --survey "$SURVEY" "$DIR/pg.csv"
    "$BIN" --database-url "$BENCH_PG_URL/tp_bench_import" export responses --survey "$SURVEY" --out "$DIR/pg-again.csv" 2>/dev/null
    cmp "$DIR/pg-again.csv" "$DIR/pg.csv" && echo "round trip (PostgreSQL): byte-identical"
    for db in tp_bench_demo tp_bench_import; do
        psql "$BENCH_PG_URL/postgres" -qc "DROP DATABASE $db"
    done
fi
