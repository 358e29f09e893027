#!/usr/bin/env bash
# Fleet-size ingest (docs/benchmarks.md section 12), release build: AGENTS
# agents (default 50), each with its own certificate, agent id and spool
# holding RESULTS results (default 20,000), connect to one collector at once
# and ship their backlogs: into SQLite, then into ClickHouse. The same rows
# then go into the same ClickHouse schema by clickhouse-client (RowBinary),
# the ceiling the collector is compared with in this run.
# Prints results/s, and CPU per result of the collector, the agents and
# ClickHouse. Every run checks that the store holds exactly AGENTS x RESULTS.
# FLUSH_ROWS sets the collector's store.flush_rows for ClickHouse (default
# 50000, the collector's own default); QUICK=1
# runs 3 agents of 500 results on the debug build, as in bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/bench.sh
AGENTS=${AGENTS:-$(q 3 50)}
RESULTS=${RESULTS:-$(q 500 20000)}

command -v clickhouse-server >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq clickhouse-server clickhouse-client; }
build_bins
start_clickhouse

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), ClickHouse $(chq 'SELECT version()')"
names=()
for k in $(seq 0 $((AGENTS - 1))); do names+=(--agent "fleet-$k"); done
"$BIN/lightbulb-collector" certs init --out "$WORK/certs" "${names[@]}" >/dev/null

# agent.toml of agent K shipping to $GRPC, its spool under $WORK/STORE.
agent_toml() { # store k
    cat <<TOML
agent_id = "fleet-$2"
collector = "https://127.0.0.1:$GRPC"
spool_dir = "$WORK/$1/spool-$2"
[tls]
ca = "$WORK/certs/ca.crt"
cert = "$WORK/certs/agent-fleet-$2.crt"
key = "$WORK/certs/agent-fleet-$2.key"
TOML
}

# This shell's children's CPU seconds (user + system) so far, from `times`
# (run here, not in a subshell, which has children of its own).
children_cpu() {
    times >"$WORK/times"
    tail -1 "$WORK/times" | python3 -c 'import re,sys; print(sum(float(m)*60+float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", sys.stdin.read())))'
}

# Fills every agent's spool, then lets all agents ship at once and reports.
fleet() { # store count-command
    local store=$1 count=$2
    mkdir -p "$WORK/$store"
    for k in $(seq 0 $((AGENTS - 1))); do agent_toml "$store" "$k" >"$WORK/$store/agent-$k.toml"; done
    seq 0 $((AGENTS - 1)) | xargs -P "$(nproc)" -I{} env RUST_LOG=warn "$BIN/lightbulb-agent" \
        --config "$WORK/$store/agent-{}.toml" bench --spool-only --results "$RESULTS" \
        --services "${SERVICES:-20}" --prefix "f{}" >/dev/null
    local c0 k0 a0 start
    children_cpu >"$WORK/a0"
    c0=$(cpu "$PID"); k0=$(cpu "$CH_PID"); a0=$(cat "$WORK/a0")
    start=$(date +%s.%N)
    local agents=()
    for k in $(seq 0 $((AGENTS - 1))); do
        RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/$store/agent-$k.toml" \
            bench --results 0 >"$WORK/$store/out-$k" &
        agents+=($!)
        pids+=($!)
    done
    # Each agent exits once the collector acknowledged all it had; a store
    # that stops acknowledging fails the run instead of hanging it.
    local deadline=$((SECONDS + $(q 120 900)))
    for a in "${agents[@]}"; do
        while kill -0 "$a" 2>/dev/null; do
            [ "$SECONDS" -lt "$deadline" ] || { echo "fleet $store: agents still shipping at the deadline" >&2; exit 1; }
            sleep 0.02
        done
        wait "$a"
    done
    local took c1 k1 a1 stored
    took=$(python3 -c "import time; print(time.time() - $start)")
    children_cpu >"$WORK/a1"
    c1=$(cpu "$PID"); k1=$(cpu "$CH_PID"); a1=$(cat "$WORK/a1")
    stored=$($count)
    python3 - "$store" "$AGENTS" "$RESULTS" "$took" "$stored" "$c0" "$c1" "$a0" "$a1" "$k0" "$k1" "$WORK/$store" <<'PY'
import glob, re, sys
store, agents, results, took, stored, c0, c1, a0, a1, k0, k1, out = sys.argv[1:]
total = int(agents) * int(results)
acked = sum(int(re.search(r"(\d+) acknowledged", open(f).read()).group(1))
            for f in glob.glob(out + "/out-*"))
per = lambda a, b: (float(b) - float(a)) / total * 1e6
print(f"fleet {store}: {agents} agents x {results} = {total} results, {acked} acknowledged, "
      f"{stored} stored, in {float(took):.2f} s: {total / float(took):,.0f} results/s; CPU per result: "
      f"collector {per(c0, c1):.1f} us, agents {per(a0, a1):.1f} us"
      + (f", ClickHouse {per(k0, k1):.1f} us" if store == "clickhouse" else ""))
if acked != total or int(stored) != total:
    sys.exit(f"fleet {store}: expected {total} acknowledged and stored")
PY
}

echo "== 12. fleet ingest: $AGENTS agents, $RESULTS results each"
start_collector sqlite "$(printf '[store]\npath = "%s/sqlite.db"' "$WORK")"
sqlite_count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM results').fetchone()[0])" "$WORK/sqlite.db"; }
fleet sqlite sqlite_count
kill "$PID"

start_collector clickhouse "$(printf '[store]\nkind = "clickhouse"\nurl = "http://127.0.0.1:%s"\ndatabase = "fleet"\n%s' \
    "$CH_HTTP" "flush_rows = ${FLUSH_ROWS:-50000}")"
clickhouse_count() { chq "SELECT count() FROM fleet.results"; }
fleet clickhouse clickhouse_count

chq "SELECT * FROM fleet.results FORMAT RowBinary" >"$WORK/rows.bin"
# A collector on database `ceiling` creates the same schema, views included.
start_collector ceiling "$(printf '[store]\nkind = "clickhouse"\nurl = "http://127.0.0.1:%s"\ndatabase = "ceiling"' "$CH_HTTP")"
for _ in $(seq 100); do chq "EXISTS TABLE ceiling.rollup_hour_mv" | grep -q 1 && break; sleep 0.1; done
k0=$(cpu "$CH_PID")
start=$(date +%s.%N)
clickhouse-client --port "$CH_TCP" --query "INSERT INTO ceiling.results FORMAT RowBinary" <"$WORK/rows.bin"
python3 -c "import time,sys; t=time.time()-$start; n=$AGENTS*$RESULTS; print(f'ceiling: clickhouse-client, the same {n} rows ({sys.argv[1]} bytes) in {t:.2f} s: {n/t:,.0f} rows/s; ClickHouse CPU per row {(float(sys.argv[2]) - $k0) / n * 1e6:.1f} us')" \
    "$(stat -c %s "$WORK/rows.bin")" "$(cpu "$CH_PID")"
