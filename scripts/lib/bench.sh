# What the bench scripts share; source after `set -euo pipefail`. Makes
# WORK, a temporary directory, and pids, the processes stopped (and WORK
# removed) when the script exits.
WORK=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# A free TCP port on 127.0.0.1.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# CPU seconds (user + system) a process has used so far.
cpu() { python3 -c "import os,sys; f=open(f'/proc/{sys.argv[1]}/stat').read().rsplit(')',1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK'))" "$1"; }

# Debian's ClickHouse with its data in $WORK/ch; sets CH_HTTP, CH_TCP, CH_PID
# and waits until it answers.
start_clickhouse() {
    CH_HTTP=$(port); CH_TCP=$(port)
    local inter
    inter=$(port)
    mkdir -p "$WORK/ch"
    clickhouse-server --config-file=/etc/clickhouse-server/config.xml -- --path="$WORK/ch/" \
        --tmp_path="$WORK/ch/tmp/" --user_files_path="$WORK/ch/uf/" --format_schema_path="$WORK/ch/fs/" \
        --logger.log="$WORK/ch/log" --logger.errorlog="$WORK/ch/err" --http_port="$CH_HTTP" \
        --tcp_port="$CH_TCP" --interserver_http_port="$inter" --listen_host=127.0.0.1 >/dev/null 2>&1 &
    CH_PID=$!
    pids+=("$CH_PID")
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$CH_HTTP/?query=SELECT%201" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "ClickHouse did not start; its log: $WORK/ch/err" >&2
    return 1
}
chq() { clickhouse-client --port "$CH_TCP" --query "$1"; }

# Starts a collector NAME with the certificates of $WORK/certs and the
# TOML tables given (its [store]); sets HTTP, GRPC and PID once it is ready.
start_collector() {
    local http grpc
    http=$(port); grpc=$(port)
    {
        cat <<TOML
[http]
listen = "127.0.0.1:$http"
[grpc]
listen = "127.0.0.1:$grpc"
[tls]
ca = "$WORK/certs/ca.crt"
cert = "$WORK/certs/collector.crt"
key = "$WORK/certs/collector.key"
# All load comes from 127.0.0.1: per-caller limits would measure the limiter.
[limits]
requests_per_second = 0
streams_per_caller = 0
TOML
        printf '%s\n' "$2"
    } >"$WORK/$1.toml"
    RUST_LOG=warn "$BIN/lightbulb-collector" --config "$WORK/$1.toml" >"$WORK/$1.log" 2>&1 &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    HTTP=$http GRPC=$grpc
}

# QUICK's value, or the full one: `q SMALL FULL`.
q() { if [ -n "${QUICK:-}" ]; then echo "$1"; else echo "$2"; fi; }
# Profile for `cargo bench`: the debug build's under QUICK.
BENCH_PROFILE=$(q "--profile dev" "")
[ -z "${QUICK:-}" ] || export LIGHTBULB_BENCH_QUICK=1

# Builds the binaries, release (debug under QUICK), and sets BIN.
build_bins() {
    if [ -n "${QUICK:-}" ]; then
        cargo build --bins --locked
        BIN=$PWD/target/debug
    else
        cargo build --release --bins --locked
        BIN=$PWD/target/release
    fi
}
