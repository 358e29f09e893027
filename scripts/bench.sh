#!/usr/bin/env bash
# Runs the benchmarks recorded in docs/benchmarks.md (release build):
#  1. spool append+ack throughput
#  2. end-to-end `bench` results/s into SQLite
#  3. GET /api/status latency with 10,000 services under 64 concurrent clients (wrk)
#  4. agent idle RSS with 100 checks configured
#  5. agent CPU and memory running 500 mixed checks every 10 s
#  6. the dashboard in Chromium with 10,000 services and 30,000 relations
# ONLY="5" (or "2 4", …) runs just those sections.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
# The release collector embeds the dashboard: build it first.
(cd web && npm ci --no-audit --no-fund && npm run build)
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

want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
if want 1; then
echo "== 1. spool"
cargo bench -p lightbulb-agent --bench spool --locked 2>/dev/null | grep '^spool'
fi

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

if want 2; then
echo "== 2. end to end into SQLite"
for run in 1 2 3; do
    RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent.toml" bench --results 200000 --services 1000
done

fi

if want 3; then
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

fi

if want 4; then
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
fi

if want 5; then
echo "== 5. agent running 500 mixed checks every 10 s"
# A real HTTP server doubles as the process the python_process checks watch.
TARGET=$(port)
mkdir -p "$WORK/www"
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$TARGET" >/dev/null 2>&1 &
pids+=($!)
echo $! >"$WORK/www.pid"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$TARGET/" >/dev/null 2>&1 && break; sleep 0.1; done
{
    agent_toml mixed
    for i in $(seq 0 499); do
        case $((i % 5)) in
            0|1) type=api_endpoint; cfg="url = \"http://127.0.0.1:$TARGET/\"" ;;
            2) type=api_endpoint; cfg="url = \"tcp://127.0.0.1:$TARGET\"" ;;
            3) type=python_process; cfg="pidfile = \"$WORK/www.pid\"" ;;
            4) type=python_process; cfg="cmdline = \"http\\\\.server .*$TARGET\"" ;;
        esac
        printf '[[checks]]\nservice_id = "mixed-%d"\nservice_type = "%s"\ninterval = "10s"\n[checks.status_config]\n%s\n' "$i" "$type" "$cfg"
    done
} >"$WORK/agent-mixed.toml"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent-mixed.toml" &
AGENT=$!
pids+=($AGENT)
# Every check runs at least twice before measuring.
sleep 25
ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
HZ=$(getconf CLK_TCK)
before=$(ticks); sleep 120; after=$(ticks)
awk -v t=$((after - before)) -v hz="$HZ" 'BEGIN { printf "cpu: %.2f%% of one core over 120 s\n", t / hz / 120 * 100 }'
grep -E 'VmRSS|VmHWM' "/proc/$AGENT/status"
curl -fs "http://127.0.0.1:$HTTP/api/status" | python3 -c 'import json,sys,collections; d=[s for s in json.load(sys.stdin) if s["service_id"].startswith("mixed-")]; print(len(d), "services:", dict(collections.Counter(s["status"] for s in d)))'
fi

if want 6; then
echo "== 6. dashboard: 10,000 services, 30,000 relations (Chromium)"
(cd web && npm run bench)
fi
