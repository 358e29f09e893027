#!/usr/bin/env bash
# Builds lightbulb (the web dashboard too, with npm) and runs a local demo:
# a collector on the embedded SQLite store, one agent, and a small Python web
# service of the demo's own. A catalog file declares the checks and an
# application `shop` that depends on the Python service and the collector's
# endpoints, so the map shows a dependency graph and killing the service
# shows a failure and its impact. Everything lives in .demo/ (certificates
# are made on the first run). Ctrl-C stops it all.
#
# LIGHTBULB_DEMO_HTTP_PORT, _GRPC_PORT and _APP_PORT choose the ports
# (8080, 7443, 8081); LIGHTBULB_DEMO_DIR the directory; LIGHTBULB_DEMO_BIN
# a directory with already built binaries (no build then).
set -euo pipefail
cd "$(dirname "$0")/.."

HTTP_PORT=${LIGHTBULB_DEMO_HTTP_PORT:-8080}
GRPC_PORT=${LIGHTBULB_DEMO_GRPC_PORT:-7443}
APP_PORT=${LIGHTBULB_DEMO_APP_PORT:-8081}
DEMO=${LIGHTBULB_DEMO_DIR:-.demo}

if [ -n "${LIGHTBULB_DEMO_BIN:-}" ]; then
    BIN=$LIGHTBULB_DEMO_BIN
else
    # The dashboard bundle is embedded into the release collector: build it first.
    if command -v npm >/dev/null; then
        (cd web && npm ci --no-audit --no-fund && npm run build)
    else
        echo "npm not found: the collector serves the API without the dashboard" >&2
    fi
    cargo build --release --bins --locked
    BIN=target/release
fi

mkdir -p "$DEMO"
DEMO=$(cd "$DEMO" && pwd)
if [ ! -f "$DEMO/certs/ca.crt" ]; then
    "$BIN/lightbulb-collector" certs init --out "$DEMO/certs" --agent demo-agent
fi

# The demo's own service: answers /health, writes its PID.
cat >"$DEMO/app.py" <<'PY'
import http.server, json, os, sys
port, pidfile = int(sys.argv[1]), sys.argv[2]
class Health(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        body = json.dumps({"status": "ok", "pid": os.getpid()}).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Health)
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
server.serve_forever()
PY

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
[catalog]
file = "$DEMO/services.toml"
TOML

# The checks, run by the agent the labels name, and what depends on what.
cat >"$DEMO/services.toml" <<TOML
[[services]]
service_id = "shop"
label = "Shop (application)"
service_type = "application"
status_config = { on_dependency_failed = "failed" }

[[services]]
service_id = "demo-app"
label = "Demo app process"
service_type = "python_process"
labels = { agent_id = "demo-agent" }
status_config = { pidfile = "$DEMO/app.pid", liveness_url = "http://127.0.0.1:$APP_PORT/health", startup_grace = "10s", interval = "2s" }

[[services]]
service_id = "demo-app-http"
label = "Demo app /health"
service_type = "api_endpoint"
labels = { agent_id = "demo-agent" }
status_config = { url = "http://127.0.0.1:$APP_PORT/health", degraded_ms = 200, json = [{ path = "status", equals = "ok" }], interval = "2s" }

[[services]]
service_id = "collector-api"
label = "Collector API"
service_type = "api_endpoint"
labels = { agent_id = "demo-agent" }
status_config = { url = "http://127.0.0.1:$HTTP_PORT/healthz", degraded_ms = 200, interval = "5s" }

[[services]]
service_id = "collector-grpc"
label = "Collector gRPC"
service_type = "api_endpoint"
labels = { agent_id = "demo-agent" }
status_config = { url = "tcp://127.0.0.1:$GRPC_PORT", interval = "5s" }

[[relations]]
source_service_id = "shop"
target_service_id = "demo-app-http"
relation_type = "dependency"

[[relations]]
source_service_id = "demo-app-http"
target_service_id = "demo-app"
relation_type = "dependency"

[[relations]]
source_service_id = "shop"
target_service_id = "collector-api"
relation_type = "dependency"

[[relations]]
source_service_id = "collector-api"
target_service_id = "collector-grpc"
relation_type = "communication"
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
TOML

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$DEMO/app.pid" ] && kill "$(cat "$DEMO/app.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -f "$DEMO/app.pid"
python3 "$DEMO/app.py" "$APP_PORT" "$DEMO/app.pid" &
pids+=($!)
"$BIN/lightbulb-collector" --config "$DEMO/collector.toml" &
pids+=($!)
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
"$BIN/lightbulb-agent" --config "$DEMO/agent.toml" &
pids+=($!)
for _ in $(seq 50); do [ -s "$DEMO/app.pid" ] && break; sleep 0.1; done

cat <<MSG

  lightbulb is running.
    dashboard and map:  http://127.0.0.1:$HTTP_PORT/
    current status:     http://127.0.0.1:$HTTP_PORT/api/status
    live changes (SSE): http://127.0.0.1:$HTTP_PORT/api/status/stream
    the catalog:        $DEMO/services.toml (edit it: the collector applies it when it changes)

  Try it:
    kill $(cat "$DEMO/app.pid" 2>/dev/null || echo PID)
        the demo app dies: demo-app and demo-app-http turn FAILED within
        seconds, and shop fails with them (the map marks the root cause).
    python3 $DEMO/app.py $APP_PORT $DEMO/app.pid &
        starts it again: STARTING, then OK, and shop recovers.

  Press Ctrl-C to stop.

MSG
wait
