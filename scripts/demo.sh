#!/usr/bin/env bash
# Builds lightbulb (the web dashboard too, with npm) and runs a local demo: a collector on the embedded SQLite
# store and one agent watching the collector's own HTTP endpoint and the first
# Python process it finds. Everything lives in .demo/ (certificates are made
# on the first run). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

HTTP_PORT=${LIGHTBULB_DEMO_HTTP_PORT:-8080}
GRPC_PORT=${LIGHTBULB_DEMO_GRPC_PORT:-7443}
DEMO=.demo

# The dashboard bundle is embedded into the release collector: build it first.
if command -v npm >/dev/null; then
    (cd web && npm ci --no-audit --no-fund && npm run build)
else
    echo "npm not found: the collector serves the API without the dashboard" >&2
fi
cargo build --release --bins --locked
BIN=target/release

mkdir -p "$DEMO"
if [ ! -f "$DEMO/certs/ca.crt" ]; then
    "$BIN/lightbulb-collector" certs init --out "$DEMO/certs" --agent demo-agent
fi

cat >"$DEMO/collector.toml" <<TOML
[http]
listen = "127.0.0.1:$HTTP_PORT"
[grpc]
listen = "127.0.0.1:$GRPC_PORT"
[tls]
ca = "$DEMO/certs/ca.crt"
cert = "$DEMO/certs/collector.crt"
key = "$DEMO/certs/collector.key"
[store]
kind = "sqlite"
path = "$DEMO/data/lightbulb.db"
TOML

cat >"$DEMO/agent.toml" <<TOML
agent_id = "demo-agent"
collector = "https://127.0.0.1:$GRPC_PORT"
spool_dir = "$DEMO/data/spool"
labels = { demo = "true" }
[tls]
ca = "$DEMO/certs/ca.crt"
cert = "$DEMO/certs/agent-demo-agent.crt"
key = "$DEMO/certs/agent-demo-agent.key"

[[checks]]
service_id = "collector-api"
service_type = "api_endpoint"
interval = "5s"
[checks.status_config]
url = "http://127.0.0.1:$HTTP_PORT/healthz"
degraded_ms = 200

[[checks]]
service_id = "collector-grpc"
service_type = "api_endpoint"
interval = "5s"
[checks.status_config]
url = "tcp://127.0.0.1:$GRPC_PORT"

[[checks]]
service_id = "python"
service_type = "python_process"
interval = "5s"
[checks.status_config]
cmdline = "."
TOML

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/lightbulb-collector" --config "$DEMO/collector.toml" &
pids+=($!)
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
"$BIN/lightbulb-agent" --config "$DEMO/agent.toml" &
pids+=($!)

cat <<MSG

  lightbulb is running.
    dashboard and API:  http://127.0.0.1:$HTTP_PORT/
    current status:     http://127.0.0.1:$HTTP_PORT/api/status
    live changes (SSE): http://127.0.0.1:$HTTP_PORT/api/status/stream
  Press Ctrl-C to stop.

MSG
wait
