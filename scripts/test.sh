#!/usr/bin/env bash
# Runs every test of lightbulb on a fresh machine: installs what the tests
# need (python3, a ClickHouse server the store tests start themselves), builds
# all binaries (the end-to-end tests spawn them) and runs the whole
# workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
command -v clickhouse-server >/dev/null || need_apt+=(clickhouse-server clickhouse-client)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq
    # The package's post-install step may try to start a system service;
    # the tests run their own servers, so none is needed.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# ClickHouse tests must run, not skip, under this script.
export LIGHTBULB_TEST_CLICKHOUSE=1
cargo build --workspace --bins --locked
cargo test --workspace --locked
