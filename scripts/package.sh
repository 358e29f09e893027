#!/usr/bin/env bash
# Builds the packages: lightbulb-agent and lightbulb-collector as .deb
# (cargo-deb) and .rpm (cargo-generate-rpm), into OUT (default
# target/packages). Release binaries by default; `--dev` packages the
# debug binaries already built (what scripts/test-packages.sh tests).
#
#   ./scripts/package.sh [--dev] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
if [ "${1:-}" = "--dev" ]; then
    profile=dev
    shift
fi
out="${1:-target/packages}"
mkdir -p "$out"
cache="${LIGHTBULB_TEST_CACHE:-/var/cache/lightbulb-test}"
export PATH="$cache/tools/bin:$HOME/.cargo/bin:$PATH"
for tool in cargo-deb cargo-generate-rpm; do
    command -v "$tool" >/dev/null || {
        echo "package.sh: $tool is missing: cargo install $tool (scripts/test-packages.sh installs pinned versions)" >&2
        exit 1
    }
done

if [ "$profile" = release ]; then
    (cd web && npm ci --no-audit --no-fund && npm run build)
    cargo build --release --locked -p lightbulb-agent -p lightbulb-collector
    bin=target/release
else
    bin=target/debug
fi
for name in agent collector; do
    [ -x "$bin/lightbulb-$name" ] || { echo "package.sh: $bin/lightbulb-$name is not built" >&2; exit 1; }
    cargo deb -p "lightbulb-$name" --no-build --profile "$profile" -o "$out/" 2>&1 \
        | grep -v "dev profile is not supported\|To enable debug symbols\|Cargo also supports custom profiles" || true
    # The .rpm takes a stripped copy of the same binary, staged as
    # cargo-generate-rpm looks for it (<target-dir>/release/).
    staged="$(mktemp -d)"
    mkdir -p "$staged/release"
    strip -o "$staged/release/lightbulb-$name" "$bin/lightbulb-$name"
    cargo generate-rpm -p "$name" --target-dir "$staged" -o "$out/" >/dev/null
    rm -rf "$staged"
done
ls -1 "$out"/lightbulb-*
