#!/usr/bin/env bash
# The packages as an operator meets them, on this machine: builds the .deb
# (cargo-deb) and .rpm (cargo-generate-rpm) from the binaries already built
# (target/debug), installs the .debs with dpkg, checks the system user and
# directories, verifies the systemd units and records their exposure score,
# gives the agent a certificate with `certs issue`, runs the agent as its
# unit would (no systemd here: the unit's ExecStart, as its user) against
# the packaged collector and sees it report, then purges and checks that
# nothing is left. The .rpm is read back with rpm -qpl / -qpi.
#
# Run by scripts/test.sh after `cargo build`; needs root (dpkg).
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${LIGHTBULB_TEST_CACHE:-/var/cache/lightbulb-test}"
tools="$cache/tools"
export PATH="$tools/bin:$PATH"
if [ "$(cargo-deb --version 2>/dev/null)" != "cargo-deb 3.8.0" ]; then
    echo "installing cargo-deb into $tools"
    cargo install -q cargo-deb --version 3.8.0 --locked --no-default-features --root "$tools"
fi
if [ "$(cargo-generate-rpm --version 2>/dev/null)" != "cargo-generate-rpm 0.21.1" ]; then
    echo "installing cargo-generate-rpm into $tools"
    cargo install -q cargo-generate-rpm --version 0.21.1 --locked --root "$tools"
fi
command -v rpm >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm
}

out="$(mktemp -d)"
work="$(mktemp -d)"
collector_pid=""
agent_pid=""
cleanup() {
    [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
    [ -n "$collector_pid" ] && kill "$collector_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    dpkg --purge lightbulb-agent lightbulb-collector >/dev/null 2>&1 || true
    rm -rf "$out" "$work"
}
trap cleanup EXIT
fail() { echo "test-packages: $*" >&2; exit 1; }

# The same files either way; dpkg's own records and logs change, nothing else may.
snapshot() {
    find /etc /usr /var/lib /opt -xdev \
        -not -path '/var/lib/dpkg/*' -not -path '/var/lib/apt/*' \
        -not -path '/var/lib/systemd/deb-systemd-helper-masked*' \
        -not -path '/var/lib/lightbulb-test*' 2>/dev/null | sort
}

./scripts/package.sh --dev "$out" >/dev/null
deb_agent=$(ls "$out"/lightbulb-agent_*.deb)
deb_collector=$(ls "$out"/lightbulb-collector_*.deb)

# rpm: the same files and metadata.
for name in agent collector; do
    rpm_file=$(ls "$out"/lightbulb-"$name"-*.rpm)
    listed=$(rpm -qpl "$rpm_file" 2>/dev/null)
    for f in /usr/bin/lightbulb-$name /etc/lightbulb/$name.toml /usr/lib/systemd/system/lightbulb-$name.service; do
        grep -qx "$f" <<<"$listed" || fail "$rpm_file lacks $f: $listed"
    done
    rpm -qpi "$rpm_file" 2>/dev/null | grep -q "^License *: Apache-2.0" || fail "$rpm_file: no license in rpm -qpi"
    rpm -qpc "$rpm_file" 2>/dev/null | grep -qx "/etc/lightbulb/$name.toml" || fail "$rpm_file: config not marked %config"
done

dpkg --purge lightbulb-agent lightbulb-collector >/dev/null 2>&1 || true
before="$work/before"
snapshot >"$before"
dpkg -i "$deb_collector" "$deb_agent" >/dev/null

# The user, its directories, the conffiles.
getent passwd lightbulb | grep -q ':/usr/sbin/nologin$' || fail "no system user lightbulb"
[ "$(stat -c %U:%a /var/lib/lightbulb/agent)" = "lightbulb:750" ] || fail "/var/lib/lightbulb/agent: $(stat -c %U:%a /var/lib/lightbulb/agent)"
[ "$(stat -c %G:%a /etc/lightbulb/agent.toml)" = "lightbulb:640" ] || fail "/etc/lightbulb/agent.toml: $(stat -c %G:%a /etc/lightbulb/agent.toml)"
dpkg-query -W -f='${Conffiles}\n' lightbulb-agent | grep -q /etc/lightbulb/agent.toml || fail "agent.toml is not a conffile"
# Enabled at install (the wants link), not started: systemd is not running here.
[ -L /etc/systemd/system/multi-user.target.wants/lightbulb-agent.service ] || fail "the agent unit is not enabled"

# The units as installed: verified, and their exposure recorded.
units=(/usr/lib/systemd/system/lightbulb-agent.service /usr/lib/systemd/system/lightbulb-collector.service)
systemd-analyze verify "${units[@]}" || fail "systemd-analyze verify"
for unit in "${units[@]}"; do
    score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$score" ] || fail "$(basename "$unit"): no exposure score from systemd-analyze security"
    echo "test-packages: $(basename "$unit") exposure $score"
    awk -v s="$score" 'BEGIN { exit !(s + 0 < 3.0) }' || fail "$(basename "$unit"): exposure $score, aim < 3.0"
done

# A collector from the package on free ports, with its CA; the agent's
# certificate from `certs issue`, as an operator would do it.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(port); grpc_port=$(port); health_port=$(port)
ca="$work/ca"
/usr/bin/lightbulb-collector certs init --out "$ca" >/dev/null
/usr/bin/lightbulb-collector certs issue --ca-dir "$ca" --agent pkg-host --out "$work/issued" >/dev/null
install -o root -g lightbulb -m 0640 "$work/issued/ca.crt" /etc/lightbulb/certs/ca.crt
install -o root -g lightbulb -m 0640 "$work/issued/agent-pkg-host.crt" /etc/lightbulb/certs/agent.crt
install -o root -g lightbulb -m 0640 "$work/issued/agent-pkg-host.key" /etc/lightbulb/certs/agent.key
cat >"$work/collector.toml" <<EOF
[http]
listen = "127.0.0.1:$http_port"
[grpc]
listen = "127.0.0.1:$grpc_port"
[tls]
ca = "$ca/ca.crt"
cert = "$ca/collector.crt"
key = "$ca/collector.key"
[store]
path = "$work/lightbulb.db"
EOF
/usr/bin/lightbulb-collector --config "$work/collector.toml" >"$work/collector.log" 2>&1 &
collector_pid=$!
# The packaged agent.toml, filled in the way its comments say.
sed -i -e 's/^agent_id = ""/agent_id = "pkg-host"/' \
    -e "s|^collector = .*|collector = \"https://127.0.0.1:$grpc_port\"|" \
    -e "s|^listen = \"127.0.0.1:9464\"|listen = \"127.0.0.1:$health_port\"|" /etc/lightbulb/agent.toml
cat >>/etc/lightbulb/agent.toml <<EOF

[[checks]]
service_id = "pkg-check"
service_type = "api_endpoint"
interval = "1s"
[checks.status_config]
url = "tcp://127.0.0.1:$http_port"
EOF
exec_start=$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/lightbulb-agent.service)
# StateDirectory= would make this; without systemd the package's postinst did.
runuser -u lightbulb -- $exec_start >"$work/agent.log" 2>&1 &
agent_pid=$!
reported=""
for _ in $(seq 1 60); do
    if python3 - "http://127.0.0.1:$http_port/api/status" <<'PY' 2>/dev/null; then
import json, sys, urllib.request
statuses = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
sys.exit(0 if any(s["service_id"] == "pkg-check" and s["status"] == "OK" for s in statuses) else 1)
PY
        reported=yes
        break
    fi
    sleep 0.5
done
if [ -z "$reported" ]; then
    echo "--- collector"; cat "$work/collector.log"; echo "--- agent"; cat "$work/agent.log"
    fail "the packaged agent did not report to the collector"
fi
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
    "http://127.0.0.1:$health_port/readyz" || fail "the agent's /readyz is not ready"
[ -d /var/lib/lightbulb/agent/spool ] || fail "the agent's spool is not in its state directory"
kill "$agent_pid" "$collector_pid"
wait "$agent_pid" "$collector_pid" 2>/dev/null || true
agent_pid=""
collector_pid=""

# Purged: nothing left behind.
dpkg --purge lightbulb-agent lightbulb-collector >/dev/null
after="$work/after"
snapshot >"$after"
if ! diff -u "$before" "$after"; then
    fail "files left behind after dpkg --purge (above)"
fi
getent passwd lightbulb >/dev/null && fail "the lightbulb user is left after purge"
echo "test-packages: deb and rpm ok"
