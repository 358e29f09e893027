#!/usr/bin/env bash
# Runs the benchmarks recorded in docs/benchmarks.md (release build):
#  1. spool append+ack throughput
#  2. end-to-end `bench` results/s into SQLite
#  3. GET /api/status latency with 10,000 services under 64 concurrent clients (wrk)
#  4. agent idle RSS with 100 checks configured
#  5. agent CPU and memory running 500 mixed checks every 10 s
#  6. the dashboard in Chromium with 10,000 services and 30,000 relations
#  7. alert evaluation at 10,000 services x 3 rules, and the time from a
#     failing check to its webhook notification arriving
#  8. live fan-out: one status change to 1,000 SSE and 1,000 WebSocket clients
#  9. one agent at 1,000 to 50,000 checks: schedule accuracy, CPU, RSS
# 10. the property tests with many cases and a fresh seed (fuzzing)
# 11. HTTP checks/s of one agent, against wrk on the same server
# 12. the anomaly scanner's rounds at 10,000 services on SQLite
# ONLY="5" (or "2 4", …) runs just those sections.
# QUICK=1 only checks that every section still runs: the debug build, sizes
# and durations cut to a minimum (scripts/test.sh runs it). Its figures mean
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
. scripts/lib/bench.sh
# The collector embeds the dashboard: build it first (the test script
# already has, for QUICK).
[ -n "${QUICK:-}" ] && [ -f web/dist/index.html ] || (cd web && npm ci --no-audit --no-fund && npm run build)
build_bins

want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
if want 1; then
echo "== 1. spool"
cargo bench $BENCH_PROFILE -p lightbulb-agent --bench spool --locked 2>/dev/null | grep '^spool'
fi

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
# Every client here is 127.0.0.1: per-caller limits would answer most of
# the load with 429 and measure the limiter.
[limits]
requests_per_second = 0
streams_per_caller = 0
TOML
# agent.toml of agent bench-NAME, with a certificate of its own: agents
# sharing an id would share the collector's record of which of their
# results it already has, and one's results would be taken as the other's.
agent_toml() {
    [ -f "$WORK/certs/agent-bench-$1.crt" ] ||
        "$BIN/lightbulb-collector" certs issue --ca-dir "$WORK/certs" --agent "bench-$1" --out "$WORK/certs" >/dev/null
    cat <<TOML
agent_id = "bench-$1"
collector = "https://127.0.0.1:$GRPC"
spool_dir = "$WORK/spool-$1"
[tls]
ca = "$WORK/certs/ca.crt"
cert = "$WORK/certs/agent-bench-$1.crt"
key = "$WORK/certs/agent-bench-$1.key"
TOML
}
# COUNT checks PREFIX-0… of URL every INTERVAL, as agent.toml blocks.
url_checks() {
    local prefix=$1 count=$2 every=$3 url=$4
    for i in $(seq 0 $((count - 1))); do
        printf '[[checks]]\nservice_id = "%s-%d"\nservice_type = "api_endpoint"\ninterval = "%s"\n[checks.status_config]\nurl = "%s"\n' "$prefix" "$i" "$every" "$url"
    done
}
# A second SQLite collector NAME beside the first (sets A_HTTP, A_GRPC and
# A_PID; HTTP and GRPC stay the first's).
another_collector() {
    local http=$HTTP grpc=$GRPC
    start_collector "$1" "$(printf '[store]\npath = "%s/%s-data/lightbulb.db"' "$WORK" "$1")"
    A_HTTP=$HTTP A_GRPC=$GRPC A_PID=$PID
    HTTP=$http GRPC=$grpc
}
agent_toml e2e >"$WORK/agent.toml"
RUST_LOG=warn "$BIN/lightbulb-collector" --config "$WORK/collector.toml" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

if want 2; then
echo "== 2. end to end into SQLite"
for run in $(seq "$(q 1 3)"); do
    RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent.toml" bench --results "$(q 2000 200000)" --services 1000
done

fi

if want 3; then
echo "== 3. GET /api/status, 10,000 services, 64 connections"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent.toml" bench --results "$(q 2000 20000)" --services "$(q 1000 10000)" >/dev/null
curl -fs "http://127.0.0.1:$HTTP/api/status" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), "services,", len(json.dumps(d)), "bytes")'
STATUS="http://127.0.0.1:$HTTP/api/status"
echo "-- plain JSON"
wrk -t2 -c64 -d"$(q 1 15)"s --latency "$STATUS" | grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx'
echo "-- Accept-Encoding: gzip ($(curl -fs -H 'Accept-Encoding: gzip' "$STATUS" | wc -c) bytes)"
wrk -t2 -c64 -d"$(q 1 15)"s --latency -H 'Accept-Encoding: gzip' "$STATUS" | grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx'
ETAG=$(curl -fsI "$STATUS" | awk -F': ' 'tolower($1)=="etag"{print $2}' | tr -d '\r')
echo "-- If-None-Match (unchanged, 304)"
wrk -t2 -c64 -d"$(q 1 15)"s --latency -H "If-None-Match: $ETAG" "$STATUS" | grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx'

fi

if want 4; then
echo "== 4. agent idle RSS, 100 checks"
{
    agent_toml idle
    url_checks idle 100 30s "tcp://127.0.0.1:$GRPC"
} >"$WORK/agent-idle.toml"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent-idle.toml" &
AGENT=$!
pids+=($AGENT)
sleep "$(q 2 40)"
grep -E 'VmRSS|VmHWM' "/proc/$AGENT/status"
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
fi

# A real HTTP server on $TARGET that doubles as the process the
# python_process checks watch (its pid in $WORK/NAME.pid).
www() {
    TARGET=$(port)
    mkdir -p "$WORK/$1"
    python3 -m http.server --bind 127.0.0.1 --directory "$WORK/$1" "$TARGET" >/dev/null 2>&1 &
    pids+=($!)
    echo $! >"$WORK/$1.pid"
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:$TARGET/" >/dev/null 2>&1 && break; sleep 0.1; done
}

if want 5; then
echo "== 5. agent running 500 mixed checks every 10 s"
www www
{
    agent_toml mixed
    for i in $(seq 0 $(($(q 20 500) - 1))); do
        case $((i % 5)) in
            0|1) type=api_endpoint; cfg="url = \"http://127.0.0.1:$TARGET/\"" ;;
            2) type=api_endpoint; cfg="url = \"tcp://127.0.0.1:$TARGET\"" ;;
            3) type=python_process; cfg="pidfile = \"$WORK/www.pid\"" ;;
            4) type=python_process; cfg="cmdline = \"http\\\\.server .*$TARGET\"" ;;
        esac
        printf '[[checks]]\nservice_id = "mixed-%d"\nservice_type = "%s"\ninterval = "%s"\n[checks.status_config]\n%s\n' "$i" "$type" "$(q 1s 10s)" "$cfg"
    done
} >"$WORK/agent-mixed.toml"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent-mixed.toml" &
AGENT=$!
pids+=($AGENT)
# Every check runs at least twice before measuring.
sleep "$(q 3 25)"
ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
HZ=$(getconf CLK_TCK)
span=$(q 2 120)
before=$(ticks); sleep "$span"; after=$(ticks)
awk -v t=$((after - before)) -v hz="$HZ" -v s="$span" 'BEGIN { printf "cpu: %.2f%% of one core over %d s\n", t / hz / s * 100, s }'
grep -E 'VmRSS|VmHWM' "/proc/$AGENT/status"
curl -fs "http://127.0.0.1:$HTTP/api/status" | python3 -c 'import json,sys,collections; d=[s for s in json.load(sys.stdin) if s["service_id"].startswith("mixed-")]; print(len(d), "services:", dict(collections.Counter(s["status"] for s in d)))'
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
fi

if want 6; then
echo "== 6. dashboard: 10,000 services, 30,000 relations (Chromium)"
if [ -n "${QUICK:-}" ]; then
    (cd web && LIGHTBULB_BIN_DIR=../target/debug LIGHTBULB_BENCH_SERVICES=100 node bench/dashboard-10k.mjs)
else
    (cd web && npm run bench)
fi
fi

if want 7; then
echo "== 7. alerting"
cargo bench $BENCH_PROFILE -p lightbulb-collector --bench alerting --locked 2>/dev/null | grep '^alerting'
# A webhook receiver noting when each notification arrives, and a TCP
# service whose check fails when it is stopped.
RECEIVER=$(port); SERVICE=$(port)
python3 -u -c '
import http.server, json, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        b = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        print(json.dumps({"at": time.time() * 1000, "event": b["event"], "alert": b["alert_id"]}), flush=True)
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$RECEIVER" >"$WORK/received" &
pids+=($!)
listen() {
    python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True: s.accept()[0].close()' "$SERVICE" &
    LISTENER=$!
    pids+=($LISTENER)
}
# Waits (60 s at most) until the receiver has N notifications of EVENT.
received() { # event n
    local deadline=$((SECONDS + 60))
    until [ "$(grep -c "$1" "$WORK/received")" -ge "$2" ]; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "no $1 notification $2 within 60 s" >&2; exit 1; }
        sleep 0.1
    done
}
listen
{
    agent_toml alerting
    printf '[[checks]]\nservice_id = "alerting-target"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:%d"\n' "$SERVICE"
} >"$WORK/agent-alerting.toml"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent-alerting.toml" &
pids+=($!)
api() { curl -fs -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$HTTP$1" >/dev/null; }
api /api/alerts/channels "{\"channel_id\": \"hook\", \"kind\": \"webhook\", \"url\": \"http://127.0.0.1:$RECEIVER/\"}"
api /api/alerts/rules '{"rule_id": "target-down", "condition": {"kind": "status", "statuses": ["FAILED"]}, "scope": {"services": ["alerting-target"]}, "channels": ["hook"], "flap_limit": 0}'
sleep 5
for run in $(seq "$(q 2 10)"); do
    kill "$LISTENER"; wait "$LISTENER" 2>/dev/null || true
    received firing "$run"
    listen
    received resolved "$run"
done
# Latency: from the first failing check (its time, as the agent stamped it)
# to the notification's arrival at the receiver.
curl -fs "http://127.0.0.1:$HTTP/api/services/alerting-target/history?limit=1000" >"$WORK/history.json"
python3 - "$WORK/received" "$WORK/history.json" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
points = sorted(json.load(open(sys.argv[2]))["points"], key=lambda p: p["timestamp"])
from datetime import datetime
def ms(t): return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000
changes = [ms(p["timestamp"]) for i, p in enumerate(points) if p["status"] == "FAILED" and (i == 0 or points[i - 1]["status"] != "FAILED")]
firing = sorted(g["at"] for g in got if g["event"] == "firing")
lat = sorted(f - max(c for c in changes if c <= f) for f in firing)
print(f"alerting check failed -> webhook received: p50 {lat[len(lat) // 2]:.0f} ms, max {lat[-1]:.0f} ms ({len(lat)} outages)")
PY
fi

if want 8; then
echo "== 8. fan-out: 1,000 SSE and 1,000 WebSocket clients"
# A collector of its own (no per-caller limits, as the first), so its RSS
# is the clients' alone.
another_collector fanout
FHTTP=$A_HTTP FGRPC=$A_GRPC FANOUT=$A_PID
agent_toml fanout | sed "s/127.0.0.1:$GRPC/127.0.0.1:$FGRPC/" >"$WORK/agent-fanout.toml"
LIGHTBULB_BENCH_URL="http://127.0.0.1:$FHTTP" LIGHTBULB_BENCH_PID=$FANOUT \
    LIGHTBULB_BENCH_AGENT="$WORK/agent-fanout.toml" LIGHTBULB_BENCH_CLIENTS="${FANOUT_CLIENTS:-$(q 10 1000)}" \
    cargo bench $BENCH_PROFILE -p lightbulb-collector --bench fanout --locked 2>/dev/null | grep '^fanout'
fi

if want 9; then
echo "== 9. one agent at 100 to 50,000 mixed checks"
www www9
# checks, interval (s): measured over two intervals after one to settle.
for pair in ${SCALE:-$(q "50:1" "100:10 1000:10 10000:30 50000:60")}; do
    n=${pair%:*}; every=${pair#*:}
    HEALTH=$(port)
    {
        agent_toml "scale-$n"
        printf '[health]\nlisten = "127.0.0.1:%d"\n' "$HEALTH"
        python3 - "$n" "$every" "$TARGET" "$WORK/www9.pid" <<'PY'
import sys
n, every, target, pidfile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
for i in range(n):
    kind = i % 5
    if kind in (0, 1):
        t, cfg = "api_endpoint", f'url = "http://127.0.0.1:{target}/"'
    elif kind == 2:
        t, cfg = "api_endpoint", f'url = "tcp://127.0.0.1:{target}"'
    else:
        t, cfg = "python_process", f'pidfile = "{pidfile}"'
    print(f'[[checks]]\nservice_id = "scale-{i}"\nservice_type = "{t}"\ninterval = "{every}s"\n[checks.status_config]\n{cfg}')
PY
    } >"$WORK/agent-scale.toml"
    RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent-scale.toml" &
    AGENT=$!
    pids+=($AGENT)
    sleep "$every"
    curl -fs "http://127.0.0.1:$HEALTH/metrics" >"$WORK/scale-before"
    ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
    HZ=$(getconf CLK_TCK)
    before=$(ticks); sleep $((2 * every)); after=$(ticks)
    curl -fs "http://127.0.0.1:$HEALTH/metrics" >"$WORK/scale-after"
    rss=$(awk '/VmRSS/{print $2}' "/proc/$AGENT/status")
    python3 - "$n" "$every" "$WORK/scale-before" "$WORK/scale-after" "$((after - before))" "$HZ" "$rss" <<'PY'
import re, sys
n, every, b, a, ticks, hz, rss = sys.argv[1:]
def read(path):
    out = {}
    for line in open(path):
        m = re.match(r'(\S+?)(\{[^}]*\})? (\S+)$', line.strip())
        if m and not line.startswith("#"):
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out
before, after = read(b), read(a)
d = lambda k: after.get(k, 0) - before.get(k, 0)
name = "lightbulb_agent_check_start_delay_seconds"
buckets = sorted((float(re.search(r'le="([^"]+)"', l).group(1)), d((m, l)))
                 for (m, l) in after if m == name + "_bucket" and "+Inf" not in l)
count = d((name + "_count", ""))
def q(p):
    for bound, c in buckets:
        if c >= p * count:
            return f"<= {bound * 1000:.0f} ms"
    return "> 30 s"
runs = sum(d(k) for k in after if k[0] == "lightbulb_agent_checks_total")
ok = sum(d(k) for k in after if k[0] == "lightbulb_agent_checks_total" and 'status="OK"' in k[1])
window = 2 * int(every)
print(f"scale: {int(n)} checks every {every} s: {runs:.0f} runs in {window} s (expected {int(n) * 2}), {ok:.0f} OK; "
      f"start delay p50 {q(0.5)}, p99 {q(0.99)}, mean {d((name + '_sum', '')) / max(count, 1) * 1000:.1f} ms; "
      f"skipped {d(('lightbulb_agent_check_runs_skipped_total', '')):.0f}; "
      f"cpu {int(ticks) / int(hz) / window * 100:.1f}% of a core; RSS {int(rss) / 1024:.0f} MiB")
PY
    kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
done
fi

# 10. The property tests (collector/tests/fuzz_inputs.rs and malformed.rs)
# with many more cases than the test script runs and a fresh seed: FUZZ_CASES
# (default 5000) cases each, the seed printed so a failure can be replayed
# (LIGHTBULB_FUZZ_SEED=…) and kept as a case.
if want 10; then
    seed="${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
    cases=${FUZZ_CASES:-$(q 50 5000)}
    echo "fuzz: seed $seed, $cases cases per property"
    LIGHTBULB_FUZZ_SEED="$seed" LIGHTBULB_FUZZ_CASES="$cases" \
        cargo test $(q "" --release) --locked -p lightbulb-collector --test fuzz_inputs --test malformed -- --nocapture 2>&1 \
        | grep -E '^(configurations|damaged spools|[0-9]+ malformed batches)|panicked|test result'
fi

# 11. How many HTTP checks one agent runs per second, against wrk on the
# same server with the same number of connections. The target is a second
# collector's /healthz (axum), so the server is not what is measured; the
# agent is given far more checks due than it can run (HTTP_CHECKS, default
# 20,000 every second) with HTTP_CONCURRENCY (default 64) at once, and its
# runs are counted over 10 s from its /metrics.
if want 11; then
echo "== 11. HTTP checks/s of one agent, and wrk on the same server"
another_collector target
T_HTTP=$A_HTTP
URL="http://127.0.0.1:$T_HTTP/healthz"
CONC=${HTTP_CONCURRENCY:-64}
HEALTH=$(port)
{
    agent_toml http
    printf '[health]\nlisten = "127.0.0.1:%d"\n[scheduler]\nmax_concurrency = %d\n' "$HEALTH" "$CONC"
    url_checks http "${HTTP_CHECKS:-$(q 200 20000)}" 1s "$URL"
} >"$WORK/agent-http.toml"
RUST_LOG=warn "$BIN/lightbulb-agent" --config "$WORK/agent-http.toml" &
AGENT=$!
pids+=($AGENT)
sleep "$(q 2 5)"
runs() { curl -fs "http://127.0.0.1:$HEALTH/metrics" | awk '/^lightbulb_agent_checks_total/{s+=$2} END{print s}'; }
oks() { curl -fs "http://127.0.0.1:$HEALTH/metrics" | awk '/^lightbulb_agent_checks_total.*status="OK"/{s+=$2} END{print s+0}'; }
ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
span=$(q 2 10)
r0=$(runs); o0=$(oks); t0=$(ticks); sleep "$span"; r1=$(runs); o1=$(oks); t1=$(ticks)
rss=$(awk '/VmRSS/{print $2}' "/proc/$AGENT/status")
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true
agent=$(( (r1 - r0) / span ))
echo "agent: $agent checks/s ($(( (o1 - o0) / span )) OK/s), $CONC at once, cpu $(( (t1 - t0) * 100 / span / $(getconf CLK_TCK) ))% of a core, RSS $((rss / 1024)) MiB"
keep=$(wrk -t2 -c"$CONC" -d"$(q 1 10)"s "$URL" | awk '/Requests\/sec/{printf "%d", $2}')
close=$(wrk -t2 -c"$CONC" -d"$(q 1 10)"s -H 'Connection: close' "$URL" | awk '/Requests\/sec/{printf "%d", $2}')
echo "wrk, $CONC connections: $keep requests/s kept alive, $close requests/s with a connection each"
python3 -c "print(f'agent / wrk: {$agent / $keep:.2f} of kept-alive, {$agent / $close:.2f} of a connection each')"
fi

if want 12; then
echo "== 12. anomaly scanner"
cargo bench $BENCH_PROFILE -p lightbulb-collector --bench anomaly_scan --locked 2>/dev/null | grep '^anomaly'
fi
