#!/usr/bin/env bash
# Builds a real kube-apiserver for the kubernetes_pod tests, once, and caches
# it outside the repository. No packaged API server exists for Debian
# bookworm, but its `kubernetes` source package (1.20.2, vendor tree included)
# builds one with Debian's Go. The tests run it against Debian's etcd.
#
# Prints the binary's path. Takes ~16 min on 2 cores the first time.
set -euo pipefail

cache="${LIGHTBULB_TEST_CACHE:-/var/cache/lightbulb-test}"
bin="$cache/kube-apiserver-1.20.2"
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi

need=()
command -v go >/dev/null || need+=(golang-go)
command -v etcd >/dev/null || need+=(etcd-server)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v rsync >/dev/null || need+=(rsync)
[ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ] || need+=(golang-github-modern-go-reflect2-dev)
if ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >/etc/apt/sources.list.d/lightbulb-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    need+=(update)
fi
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq >&2
    pkgs=("${need[@]/update/}")
    # shellcheck disable=SC2068
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs[@]} >&2
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq --download-only kubernetes >&2
dpkg-source --no-check -x kubernetes_*.dsc src >&2
cd src
# The vendored reflect2 1.0.1 crashes with Go 1.18+; Debian's 1.0.2 works.
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
echo "building kube-apiserver (once; ~16 min)" >&2
make WHAT=cmd/kube-apiserver >&2
install -m 0755 _output/local/bin/linux/*/kube-apiserver "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
