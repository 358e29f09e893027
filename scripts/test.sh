#!/usr/bin/env bash
# Runs every test of lightbulb on a fresh machine: installs what the tests
# need (python3; ClickHouse and ZooKeeper, which the store tests start
# themselves as child processes), builds
# all binaries (the end-to-end tests spawn them) and runs the whole
# workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
command -v clickhouse-server >/dev/null || need_apt+=(clickhouse-server clickhouse-client)
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || need_apt+=(zookeeper)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq
    # Post-install steps may try to start system services; the tests run
    # their own servers on free ports, so none is needed.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# ClickHouse (and cluster) tests must run, not skip, under this script.
export LIGHTBULB_TEST_CLICKHOUSE=1
cargo build --workspace --bins --locked
cargo test --workspace --locked
