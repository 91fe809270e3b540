#!/usr/bin/env bash
# Installs what building and testing mdev-reconciler needs on Debian 12, and nothing when it is all there.
# Swift itself (6.1 or newer) must already be installed: Debian does not package it.
#   contrib/setup.sh [package ...]   (also those Debian packages: the package build and the test bed pass theirs)
set -euo pipefail

# The build's libraries, then the checkers the tests run on the program's output: promtool (prometheus) on
# the metrics file, virt-xml-validate (libvirt-clients, which needs xmllint from libxml2-utils) on <hostdev>.
packages=(pkg-config libudev-dev libsystemd-dev libyaml-dev prometheus libvirt-clients libxml2-utils "$@")

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
