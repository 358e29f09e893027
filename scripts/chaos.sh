#!/usr/bin/env bash
# The chaos suite: collector/tests/chaos.rs for ROUNDS rounds (default 3)
# on SQLite and on ClickHouse. Each round SIGKILLs and SIGSTOPs the
# collector, the agent and ClickHouse, cuts the network between agent and
# collector, steps the agent's clock, corrupts spool records on disk and
# fills the spool's disk, then prints the reconciliation:
#   produced N = stored S + dropped D + corrupt C; duplicates 0
# Needs root (the spool's tmpfs); installs ClickHouse and libfaketime from
# Debian if missing. `./scripts/test.sh` runs one round.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v faketime >/dev/null || need_apt+=(faketime)
command -v clickhouse-server >/dev/null || need_apt+=(clickhouse-server clickhouse-client)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

cargo build --workspace --bins --locked
LIGHTBULB_TEST_CHAOS=1 LIGHTBULB_TEST_CLICKHOUSE=1 LIGHTBULB_CHAOS_ROUNDS="${ROUNDS:-3}" \
    cargo test -p lightbulb-collector --locked --test chaos -- --nocapture --test-threads 1
