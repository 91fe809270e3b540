#!/usr/bin/env bash
# Builds a kube-apiserver for the cluster tests from Debian 12's own `kubernetes` source package (Debian ships
# no binary), once, and prints its path. Everything it downloads and builds stays in $MDEV_KUBE_CACHE
# (default /var/cache/mdev-reconciler-kube), outside the repository; a later run prints the cached binary.
#
# Needs, and installs when missing: a deb-src entry for Debian's archive, golang-go (1.19), rsync, jq and
# etcd-server (the tests run etcd beside the server). About 6 minutes on 2 cores.
#
# Debian's Go is newer than the tree's: its vendored modern-go/reflect2 1.0.1 declares reflect.mapiterinit
# with the signature of Go before 1.18 and a two-field iterator, so the server crashes (SIGSEGV in
# mapiternext) on the first custom resource. reflect2-go1.18.patch, beside this script, adapts it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache=${MDEV_KUBE_CACHE:-/var/cache/mdev-reconciler-kube}
binary=$cache/bin/kube-apiserver
# The cached binary is used while it was built from the same source and patch.
# (Contents only: the same script in another clone uses the same binary.)
stamp="$(cat "$here/reflect2-go1.18.patch" "$0" | sha256sum | cut -d' ' -f1)"
log() { echo "kube-apiserver: $*" >&2; }

if [ -x "$binary" ] && [ "$(cat "$cache/bin/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$binary"
    exit 0
fi

missing=()
for tool in go:golang-go rsync:rsync jq:jq etcd:etcd-server make:make patch:patch; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi
# Debian 12's sources list has no deb-src line: one for its own archive, with the same key.
if ! apt-cache showsrc kubernetes >/dev/null 2>&1 || [ -z "$(apt-cache showsrc kubernetes 2>/dev/null)" ]; then
    log "adding a deb-src entry for Debian's archive"
    cat > /etc/apt/sources.list.d/mdev-reconciler-deb-src.sources <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    apt-get update -q >&2
fi

mkdir -p "$cache/download" "$cache/bin"
if ! ls "$cache"/download/kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
    log "downloading the source package"
    (cd "$cache/download" && apt-get source --download-only -q kubernetes >&2)
fi
tarball=$(ls "$cache"/download/kubernetes_*.orig.tar.gz | sort -V | tail -n 1)
log "unpacking $(basename "$tarball")"
rm -rf "$cache/build" && mkdir -p "$cache/build"
tar -xzf "$tarball" -C "$cache/build"
tree=$(ls -d "$cache"/build/kubernetes-*/ | head -n 1)
patch -d "$tree" -p1 --quiet < "$here/reflect2-go1.18.patch"

log "building (make WHAT=cmd/kube-apiserver, CGO_ENABLED=0)"
mkdir -p "$tree/.go/src/k8s.io"
ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
(cd "$tree" && GOPATH="$tree/.go" CGO_ENABLED=0 make WHAT=cmd/kube-apiserver >&2)
install -m 0755 "$tree/_output/bin/kube-apiserver" "$binary"
echo "$stamp" > "$cache/bin/stamp"
rm -rf "$cache/build"
log "built $binary"
echo "$binary"
