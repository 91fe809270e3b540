#!/usr/bin/env bash
# The real-kernel test bed: boots Debian's own kernel in QEMU with the mdev core, the kernel's mtty sample
# driver and the project's vGPU simulator, runs mdev-reconciler's scenarios in the guest, and fails when
# any check fails.
#
#   contrib/testbed/run.sh [scenario ...]        (default: every scenario in guest/scenarios/)
#   contrib/testbed/run.sh --shell               (a shell in the guest instead; Ctrl-A X quits QEMU)
#
# Installs what is missing (apt), downloads the kernel's source package once for mtty.c, and caches
# downloads and builds in $MDEV_TESTBED_CACHE (default /var/cache/mdev-reconciler-testbed), outside the repo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${MDEV_TESTBED_CACHE:-/var/cache/mdev-reconciler-testbed}
timeout=${MDEV_TESTBED_TIMEOUT:-600}
log() { echo "testbed: $*" >&2; }

# 1. Packages. The guest runs Debian's kernel; its headers build the modules.
packages=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio gcc make kmod xz-utils)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
kernel=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)
version=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$version
series=$(echo "$version" | cut -d. -f1-2)
mkdir -p "$cache"

# 2. mtty.c from the kernel's own source package (Debian does not build the samples).
source_dir=$cache/linux-source-$series
if [ ! -f "$source_dir/samples/vfio-mdev/mtty.c" ]; then
    log "fetching linux-source-$series for mtty.c"
    (cd "$cache" && apt-get download -q "linux-source-$series" >/dev/null 2>&1)
    deb=$(ls "$cache"/linux-source-"$series"_*.deb | sort -V | tail -n 1)
    rm -rf "$cache/unpacked" && mkdir -p "$cache/unpacked"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$cache/unpacked" --wildcards "*linux-source-$series.tar.xz"
    tar -xJf "$cache/unpacked/usr/src/linux-source-$series.tar.xz" -C "$cache" "linux-source-$series/samples/vfio-mdev/mtty.c"
    rm -rf "$cache/unpacked" "$deb"
fi

# 3. The modules (mtty and the project's simulator) and the VM-like holder.
build=$cache/build-$version
mkdir -p "$build"
cp "$source_dir/samples/vfio-mdev/mtty.c" "$here/kmod/mdev_vgpu_sim.c" "$build/"
echo 'obj-m := mtty.o mdev_vgpu_sim.o' > "$build/Kbuild"
make -s -C "$modules/build" M="$build" modules >"$build/make.log" 2>&1 || { cat "$build/make.log" >&2; exit 1; }
gcc -static -O2 -Wall -o "$build/vfio-holder" "$here/holder/vfio-holder.c"

# 4. The program, statically linked against the Swift runtime.
log "building mdev-reconciler (release, static Swift runtime)"
(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$repo/.build-static" >"$build/swift.log" 2>&1) \
    || { tail -n 40 "$build/swift.log" >&2; exit 1; }
binary=$repo/.build-static/release/mdev-reconciler

# 5. The initramfs: busybox, the modules, the binary and the libraries it links, the holder, the scenarios.
root=$build/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,etc,proc,sys,dev,tmp,run,scenarios}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"; done
for module in kernel/drivers/vfio/vfio.ko kernel/drivers/vfio/vfio_iommu_type1.ko kernel/drivers/vfio/mdev/mdev.ko; do
    cp "$modules/$module" "$root/lib/modules/"
done
cp "$build/mtty.ko" "$build/mdev_vgpu_sim.ko" "$root/lib/modules/"
cp "$binary" "$root/usr/sbin/mdev-reconciler"
cp "$build/vfio-holder" "$root/usr/bin/vfio-holder"
for library in $(ldd "$binary" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
done
cp "$here/guest/init" "$root/init"
cp "$here/guest/lib.sh" "$root/lib.sh"
cp "$here"/guest/scenarios/*.sh "$root/scenarios/"
chmod +x "$root/init"
echo "7d3f0e9a2c4b4e8f9a1b3c5d7e9f1a2b" > "$root/etc/machine-id"
echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$build/initramfs.gz"

# 6. Boot. No KVM here: TCG. Results come over the serial console, after the start marker.
if [ "${1:-}" = "--shell" ]; then
    exec qemu-system-x86_64 -m 1024 -smp 2 -nographic -no-reboot -kernel "$kernel" -initrd "$build/initramfs.gz" \
        -append "console=ttyS0 quiet loglevel=0 panic=-1 mdev.shell=1"
fi
scenarios=$(IFS=,; echo "$*")
append="console=ttyS0 quiet loglevel=0 panic=-1${scenarios:+ mdev.scenarios=$scenarios}"
log "booting $version with ${scenarios:-every scenario}"
output=$build/console.log
started=$(date +%s)
timeout "$timeout" qemu-system-x86_64 -m 1024 -smp 2 -nographic -no-reboot -kernel "$kernel" \
    -initrd "$build/initramfs.gz" -append "$append" </dev/null >"$output" 2>&1 || true
log "guest finished in $(( $(date +%s) - started )) s"

# 7. Results.
results=$(sed -n '/MDEV-TESTBED-START/,/MDEV-TESTBED-END/p' "$output" | tr -d '\r')
echo "$results" | grep -E '^(SCENARIO|\[[a-z-]+\] (CHECK|FIGURE))' || true
passed=$(echo "$results" | grep -c 'CHECK PASS' || true)
failed=$(echo "$results" | grep -c 'CHECK FAIL' || true)
if ! echo "$results" | grep -q MDEV-TESTBED-END; then
    log "the guest did not finish (see $output)"
    failed=$((failed + 1))
fi
if [ "$failed" -gt 0 ]; then
    log "daemon log and console: $output"
    echo "$results" | grep -v -E '^(SCENARIO|\[[a-z-]+\] (CHECK|FIGURE))' | tail -n 40 >&2 || true
fi
echo "testbed: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
