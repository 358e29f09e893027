#!/usr/bin/env bash
# Runs every test of lightbulb on a fresh machine: installs what the tests
# need, builds all binaries (the end-to-end tests spawn them) and runs the
# whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}"
fi

cargo build --workspace --bins --locked
cargo test --workspace --locked
