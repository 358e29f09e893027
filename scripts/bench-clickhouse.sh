#!/usr/bin/env bash
# ClickHouse benchmarks recorded in docs/benchmarks.md (release build; QUICK=1
# as in bench.sh), against
# a ClickHouse server started here with its data in a temporary directory:
#  1. end-to-end `bench` results/s into ClickHouse, three runs; then the
#     store alone (`cargo bench --bench store`: Store::insert, no agent/gRPC)
#  2. the ceiling: clickhouse-client inserting the same rows as RowBinary
#     into the same schema (with its materialized views), and into a bare table
#  3. history/metrics latency for one service with 90 days of 10 s results
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v clickhouse-server >/dev/null || need+=(clickhouse-server clickhouse-client)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}"; fi
. scripts/lib/bench.sh
build_bins
start_clickhouse

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), ClickHouse $(chq 'SELECT version()')"
"$BIN/lightbulb-collector" certs init --out "$WORK/certs" --agent bench >/dev/null
# Starts a collector on ClickHouse database $2; sets HTTP, GRPC and PID.
collector() { # name database
    start_collector "$1" "$(printf '[store]\nkind = "clickhouse"\nurl = "http://127.0.0.1:%s"\ndatabase = "%s"' "$CH_HTTP" "$2")"
}
collector main lightbulb
COLLECTOR_PID=$PID
cat >"$WORK/agent.toml" <<TOML
agent_id = "bench"
collector = "https://127.0.0.1:$GRPC"
spool_dir = "$WORK/spool"
[tls]
ca = "$WORK/certs/ca.crt"
cert = "$WORK/certs/agent-bench.crt"
key = "$WORK/certs/agent-bench.key"
TOML

echo "== 1. end to end into ClickHouse"
c0=$(cpu "$COLLECTOR_PID"); k0=$(cpu "$CH_PID")
TIMEFORMAT='   agent CPU: %U s user + %S s system'
for run in $(seq "$(q 1 3)"); do
    time RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent.toml" bench --results "$(q 2000 200000)" --services 1000
done
echo "   collector CPU: $(python3 -c "print(round($(cpu "$COLLECTOR_PID") - $c0, 2))") s, ClickHouse CPU: $(python3 -c "print(round($(cpu "$CH_PID") - $k0, 2))") s (all three runs)"
LIGHTBULB_BENCH_CLICKHOUSE_URL="http://127.0.0.1:$CH_HTTP" \
    cargo bench $BENCH_PROFILE -p lightbulb-collector --bench store --locked 2>/dev/null | grep '^store'
ROWS=$(chq "SELECT count() FROM lightbulb.results")

echo "== 2. ceiling: clickhouse-client, the same $ROWS rows as RowBinary"
chq "SELECT * FROM lightbulb.results FORMAT RowBinary" >"$WORK/rows.bin"
ls -l "$WORK/rows.bin" | awk '{print $5, "bytes"}'
MAIN_HTTP=$HTTP
collector ceiling ceiling   # creates the same schema in database `ceiling`
HTTP=$MAIN_HTTP
for _ in $(seq 100); do chq "EXISTS TABLE ceiling.rollup_hour_mv" | grep -q 1 && break; sleep 0.1; done
# rows/s since START (epoch seconds): rate ROWS START
rate() { python3 -c "import sys,time; t=time.time()-float(sys.argv[2]); print(f'{int(sys.argv[1])/t:,.0f} rows/s ({t:.2f} s)')" "$@"; }
start=$(date +%s.%N)
clickhouse-client --port "$CH_TCP" --query "INSERT INTO ceiling.results FORMAT RowBinary" <"$WORK/rows.bin"
echo "-- into the lightbulb schema (results + 4 materialized views): $(rate "$ROWS" "$start")"
chq "CREATE TABLE ceiling.bare AS lightbulb.results"
start=$(date +%s.%N)
clickhouse-client --port "$CH_TCP" --query "INSERT INTO ceiling.bare FORMAT RowBinary" <"$WORK/rows.bin"
echo "-- into a bare copy of the results table: $(rate "$ROWS" "$start")"

echo "== 3. one service, 90 days of 10 s results"
NOW=$(date +%s%3N)
chq "INSERT INTO lightbulb.results SELECT 'hist-0', $NOW - toInt64(number) * 10000, 'gen', 1000000000 + number,
     'api_endpoint', if(number % 50 = 0, 2, 0), 'generated', toFloat64(number % 300), NULL, NULL, '', ''
     FROM numbers($(q 7776 777600))"
echo "$(chq "SELECT count() FROM lightbulb.results WHERE service_id = 'hist-0'") raw rows for hist-0"
BASE="http://127.0.0.1:$HTTP/api/services/hist-0"
for _ in $(seq 100); do curl -fs "$BASE/metrics" >/dev/null 2>&1 && break; sleep 0.1; done
FROM=$((NOW - 90 * 86400000))
for q in "history?from=$FROM&to=$NOW&step=1h" "history?from=$FROM&to=$NOW&step=15m" \
         "metrics?from=$FROM&to=$NOW" "history?from=$FROM&to=$NOW&limit=1000" \
         "history?from=$((NOW - 86400000))&to=$NOW&step=5m"; do
    echo "-- GET /api/services/hist-0/$q ($(curl -fs "$BASE/$q" | wc -c) bytes)"
    for c in 1 4; do
        echo "   $c client(s): $(wrk -t1 -c$c -d"$(q 1 10)"s --latency "$BASE/$q" | awk '/ 50%| 99%/{printf "%s %s  ", $1, $2} /Requests\/sec/{printf "%s req/s", $2} /Non-2xx/{printf ", %s NOT 2xx", $5}')"
    done
done
