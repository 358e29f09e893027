#!/usr/bin/env bash
# Runs the benchmarks recorded in docs/benchmarks.md (release build):
#  1. spool append+ack throughput
#  2. end-to-end `bench` results/s into SQLite
#  3. GET /api/status latency with 10,000 services under 64 concurrent clients (wrk)
#  4. agent idle RSS with 100 checks configured
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --bins --locked
BIN=$PWD/target/release
WORK=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
echo "== 1. spool"
cargo bench -p lightbulb-agent --bench spool --locked 2>/dev/null | grep '^spool'

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(port); GRPC=$(port)
"$BIN/lightbulb-collector" certs init --out "$WORK/certs" --agent bench >/dev/null
cat >"$WORK/collector.toml" <<TOML
[http]
listen = "127.0.0.1:$HTTP"
[grpc]
listen = "127.0.0.1:$GRPC"
[tls]
ca = "$WORK/certs/ca.crt"
cert = "$WORK/certs/collector.crt"
key = "$WORK/certs/collector.key"
[store]
path = "$WORK/data/lightbulb.db"
TOML
agent_toml() {
    cat <<TOML
agent_id = "bench"
collector = "https://127.0.0.1:$GRPC"
spool_dir = "$WORK/spool-$1"
[tls]
ca = "$WORK/certs/ca.crt"
cert = "$WORK/certs/agent-bench.crt"
key = "$WORK/certs/agent-bench.key"
TOML
}
agent_toml e2e >"$WORK/agent.toml"
RUST_LOG=warn "$BIN/lightbulb-collector" --config "$WORK/collector.toml" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

echo "== 2. end to end into SQLite"
for run in 1 2 3; do
    RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent.toml" bench --results 200000 --services 1000
done

echo "== 3. GET /api/status, 10,000 services, 64 connections"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent.toml" bench --results 20000 --services 10000 >/dev/null
curl -fs "http://127.0.0.1:$HTTP/api/status" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), "services,", len(json.dumps(d)), "bytes")'
STATUS="http://127.0.0.1:$HTTP/api/status"
echo "-- plain JSON"
wrk -t2 -c64 -d15s --latency "$STATUS" | grep -E 'Latency|50%|90%|99%|Requests/sec'
echo "-- Accept-Encoding: gzip ($(curl -fs -H 'Accept-Encoding: gzip' "$STATUS" | wc -c) bytes)"
wrk -t2 -c64 -d15s --latency -H 'Accept-Encoding: gzip' "$STATUS" | grep -E 'Latency|50%|90%|99%|Requests/sec'
ETAG=$(curl -fsI "$STATUS" | awk -F': ' 'tolower($1)=="etag"{print $2}' | tr -d '\r')
echo "-- If-None-Match (unchanged, 304)"
wrk -t2 -c64 -d15s --latency -H "If-None-Match: $ETAG" "$STATUS" | grep -E 'Latency|50%|90%|99%|Requests/sec'

echo "== 4. agent idle RSS, 100 checks"
{
    agent_toml idle
    for i in $(seq 0 99); do
        printf '[[checks]]\nservice_id = "idle-%d"\nservice_type = "api_endpoint"\ninterval = "30s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:%d"\n' "$i" "$GRPC"
    done
} >"$WORK/agent-idle.toml"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent-idle.toml" &
AGENT=$!
pids+=($AGENT)
sleep 40
grep -E 'VmRSS|VmHWM' "/proc/$AGENT/status"
