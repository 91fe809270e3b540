#!/usr/bin/env bash
# Installs what building and testing mdev-reconciler needs on Debian 12, and nothing when it is all there.
# Swift itself (6.1 or newer) must already be installed: Debian does not package it.
#   contrib/setup.sh [--tests] [package ...]   (also those Debian packages: the package build and the test
#                                               bed pass theirs)
# --tests also readies the cluster tests: etcd, curl and openssl from Debian, runc, umoci and skopeo (the
# container image's tests), and a kube-apiserver built once from Debian's source package
# (contrib/kubernetes/apiserver/build.sh, cached outside the repository).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tests=false
if [ "${1:-}" = "--tests" ]; then
    tests=true
    shift
fi

# The build's libraries (libcurl: the cluster agent's API client), then the checkers the tests run on the
# program's output: promtool (prometheus) on the metrics file, virt-xml-validate (libvirt-clients, which
# needs xmllint from libxml2-utils) on <hostdev>.
packages=(pkg-config libudev-dev libsystemd-dev libyaml-dev libcurl4-openssl-dev prometheus libvirt-clients libxml2-utils "$@")
if $tests; then packages+=(etcd-server curl openssl runc umoci skopeo); fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: swift is not on PATH; install Swift 6.1 or newer from swift.org first" >&2
    exit 1
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# NVIDIA's nvml.h, which the CNVML module is compiled against (the library itself is opened at run time and
# only where NVIDIA's driver installed it). NVIDIA publishes the header on PyPI; the wheel is pinned by its
# digest, and the header is never committed (.gitignore).
nvml_header=$(cd "$(dirname "$0")/.." && pwd)/Sources/CNVML/include/nvml.h
nvml_wheel=nvidia_nvml_dev-13.4.92-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
nvml_wheel_sha256=90b65cebefd02a1e695675177c9d7886f48322906ce5c03398e8cb27cc5ad2d6
nvml_header_sha256=c9b494b7c8015b6ae7aca62b2ce98e6b13f3277a2bec80de528371e725d54012
if ! echo "$nvml_header_sha256  $nvml_header" | sha256sum -c --status 2>/dev/null; then
    python=$(command -v python3 || true)
    if [ -z "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "setup: installing python3-pip (to fetch NVIDIA's nvml.h)" >&2
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends python3 python3-pip
        python=$(command -v python3)
    fi
    download=$(mktemp -d)
    trap 'rm -rf "$download"' EXIT
    echo "setup: fetching nvml.h (PyPI: nvidia-nvml-dev 13.4.92)" >&2
    "$python" -m pip download --no-deps --quiet --only-binary=:all: --platform manylinux2014_x86_64 \
        --dest "$download" nvidia-nvml-dev==13.4.92 >&2
    echo "$nvml_wheel_sha256  $download/$nvml_wheel" | sha256sum -c --status \
        || { echo "setup: $nvml_wheel does not have the expected digest" >&2; exit 1; }
    "$python" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("nvidia/cu13/include/nvml.h"))' \
        "$download/$nvml_wheel" > "$nvml_header.tmp"
    echo "$nvml_header_sha256  $nvml_header.tmp" | sha256sum -c --status \
        || { echo "setup: nvml.h in $nvml_wheel does not have the expected digest" >&2; rm -f "$nvml_header.tmp"; exit 1; }
    mv "$nvml_header.tmp" "$nvml_header"
fi

if $tests; then
    command -v kubectl >/dev/null 2>&1 || echo "setup: warning: kubectl is not on PATH; the cluster tests use it" >&2
    "$here/kubernetes/apiserver/build.sh" >/dev/null
fi
