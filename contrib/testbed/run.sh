#!/usr/bin/env bash
# The real-kernel test bed: boots Debian's own kernel in QEMU with the mdev core, the kernel's mtty sample
# driver and the project's vGPU simulator, runs mdev-reconciler's scenarios in two guests (a busybox
# initramfs, and a Debian system with systemd, udevd and journald), and fails when any check fails.
#
#   contrib/testbed/run.sh [scenario ...]   (default: every scenario of guest/scenarios/ and guest/systemd-scenarios/)
#   contrib/testbed/run.sh --shell          (a shell in the busybox guest instead; Ctrl-A X quits QEMU)
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
"$repo/contrib/setup.sh" qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio gcc make kmod xz-utils \
    debootstrap e2fsprogs >/dev/null
kernel=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)
version=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$version
series=$(echo "$version" | cut -d. -f1-2)
mkdir -p "$cache"

# Which scenarios run in which guest.
busybox_scenarios=()
systemd_scenarios=()
if [ "${1:-}" != "--shell" ]; then
    for scenario in "${@:-}"; do
        [ -n "$scenario" ] || continue
        if [ -f "$here/guest/scenarios/$scenario.sh" ]; then busybox_scenarios+=("$scenario")
        elif [ -f "$here/guest/systemd-scenarios/$scenario.sh" ]; then systemd_scenarios+=("$scenario")
        else log "no scenario named $scenario"; exit 2
        fi
    done
    if [ $# -eq 0 ]; then
        for file in "$here"/guest/scenarios/*.sh; do busybox_scenarios+=("$(basename "$file" .sh)"); done
        for file in "$here"/guest/systemd-scenarios/*.sh; do systemd_scenarios+=("$(basename "$file" .sh)"); done
    fi
fi

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
# The project's fake NVML (contrib/nvml-fake), against NVIDIA's nvml.h as contrib/setup.sh fetches it.
[ -f "$repo/Sources/CNVML/include/nvml.h" ] || { echo "no Sources/CNVML/include/nvml.h: run contrib/setup.sh" >&2; exit 1; }
gcc -shared -fPIC -O2 -Wall -Werror -I "$repo/Sources/CNVML/include" -o "$build/libnvidia-ml.so.1" "$repo/contrib/nvml-fake/fake_nvml.c"

# 4. The program as it ships: the Debian package (MDEV_TESTBED_DEB, as .ci/run passes it, or built now).
#    The systemd guest installs that very file with dpkg; the busybox guest runs the binary it holds.
deb=${MDEV_TESTBED_DEB:-}
if [ -z "$deb" ]; then
    log "building the Debian package"
    deb=$("$repo/contrib/debian/build.sh" 2>"$build/build-deb.log") || { tail -n 40 "$build/build-deb.log" >&2; exit 1; }
fi
rm -rf "$build/deb-root"
dpkg-deb -x "$deb" "$build/deb-root"
binary=$build/deb-root/usr/sbin/mdev-reconciler
log "package $(basename "$deb"), binary $(stat -c %s "$binary") bytes"

# 5. The busybox guest: an initramfs with busybox, the modules, the binary and the libraries it links, the
#    holder and the scenarios.
build_initramfs() {
    local root=$build/initramfs
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,etc,proc,sys,dev,tmp,run,scenarios}
    cp /bin/busybox "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"; done
    cp "${kernel_modules[@]}" "$root/lib/modules/"
    cp "$binary" "$root/usr/sbin/mdev-reconciler"
    cp "$build/vfio-holder" "$root/usr/bin/vfio-holder"
    mkdir -p "$root/usr/lib/testbed"
    cp "$build/libnvidia-ml.so.1" "$root/usr/lib/testbed/libnvidia-ml.so.1"
    copy_libraries "$root"
    cp "$here/guest/init" "$root/init"
    cp "$here/guest/lib.sh" "$root/lib.sh"
    cp "$here"/guest/scenarios/*.sh "$root/scenarios/"
    chmod +x "$root/init"
    echo "$machine_id" > "$root/etc/machine-id"
    echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$build/initramfs.gz"
}

# The shared libraries the binary links, where the guest lacks them.
copy_libraries() {
    for library in $(ldd "$binary" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
        [ -e "$1$library" ] && continue
        mkdir -p "$1$(dirname "$library")"
        cp -L "$library" "$1$library"
    done
}

# 6. The systemd guest: a minimal Debian (debootstrap, cached by its package list) with the package file,
#    what the scenarios use beside it (man, bash completion, Debian's mdevctl to compare with, Debian's
#    node_exporter to scrape the metrics, the shared libraries the package depends on), the modules and a
#    oneshot unit that runs the scenarios and powers off, on an ext4 disk image; booted with Debian's own initrd.
guest_packages=systemd,systemd-sysv,udev,dbus,kmod,procps,man-db,bash-completion,mdevctl,libyaml-0-2,prometheus-node-exporter
build_disk() {
    local base=$cache/rootfs-bookworm-$(echo "$guest_packages" | md5sum | cut -c1-8) root=$build/rootfs
    if [ ! -d "$base" ]; then
        # The Debian mirror apt itself uses.
        local mirror
        mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        [ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
        log "debootstrap bookworm (once)"
        rm -rf "$base.tmp"
        debootstrap --variant=minbase --include="$guest_packages" bookworm "$base.tmp" "$mirror" \
            >"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
        mv "$base.tmp" "$base"
    fi
    rm -rf "$root"
    cp -a "$base" "$root"
    mkdir -p "$root/lib/modules/$version/extra" "$root/testbed" "$root/scenarios" "$root/etc/systemd/system/multi-user.target.wants" \
        "$root/etc/mdevctl.d"
    cp "${kernel_modules[@]}" "$root/lib/modules/$version/extra/"
    cp "$deb" "$root/testbed/mdev-reconciler.deb"
    install -m 0755 "$build/vfio-holder" "$root/usr/bin/vfio-holder"
    cp "$here/guest/systemd/mdev-testbed.service" "$root/etc/systemd/system/"
    ln -sf ../mdev-testbed.service "$root/etc/systemd/system/multi-user.target.wants/mdev-testbed.service"
    ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
    cp "$here/guest/systemd/run-scenarios" "$root/testbed/run-scenarios"
    printf '%s\n' "${systemd_scenarios[@]}" > "$root/testbed/scenarios.list"
    cp "$here/guest/lib.sh" "$root/lib.sh"
    cp "$here"/guest/systemd-scenarios/*.sh "$root/scenarios/"
    echo "$machine_id" > "$root/etc/machine-id"
    echo testbed > "$root/etc/hostname"
    rm -f "$build/disk.img"
    mkfs.ext4 -q -d "$root" -F "$build/disk.img" 2G
}

machine_id=7d3f0e9a2c4b4e8f9a1b3c5d7e9f1a2b
kernel_modules=("$modules/kernel/drivers/vfio/vfio.ko" "$modules/kernel/drivers/vfio/vfio_iommu_type1.ko"
    "$modules/kernel/drivers/vfio/mdev/mdev.ko" "$modules/kernel/virt/lib/irqbypass.ko" "$modules/kernel/drivers/vfio/vfio_virqfd.ko"
    "$modules/kernel/drivers/vfio/pci/vfio-pci-core.ko" "$modules/kernel/drivers/vfio/pci/vfio-pci.ko"
    "$build/mtty.ko" "$build/mdev_vgpu_sim.ko")
qemu=(qemu-system-x86_64 -m 1024 -smp 2 -nographic -no-reboot -kernel "$kernel")
# q35 (PCI Express) and QEMU's nvme with SR-IOV: real virtual functions for the vendor-specific mode.
sriov=(-M q35 -device pcie-root-port,id=rp1,chassis=1,slot=1 -device nvme-subsys,id=nvsub,nqn=vgpu-sim
    -device nvme,serial=vgpu-sim,subsys=nvsub,bus=rp1,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4)

if [ "${1:-}" = "--shell" ]; then
    build_initramfs
    exec "${qemu[@]}" "${sriov[@]}" -initrd "$build/initramfs.gz" -append "console=ttyS0 quiet loglevel=0 panic=-1 mdev.shell=1"
fi

# 7. Boot each guest (no KVM here: TCG) and read its checks from the serial console, after the start marker.
passed=0
failed=0
boot() {
    local name=$1 output=$build/console-$1.log started
    shift
    log "booting the $name guest ($version)"
    started=$(date +%s)
    timeout "$timeout" "${qemu[@]}" "$@" </dev/null >"$output" 2>&1 || true
    log "the $name guest finished in $(( $(date +%s) - started )) s"
    local results
    results=$(sed -n '/MDEV-TESTBED-START/,/MDEV-TESTBED-END/p' "$output" | tr -d '\r')
    echo "$results" | grep -E '^(SCENARIO|\[[a-z-]+\] (CHECK|FIGURE))' || true
    local ok bad
    ok=$(echo "$results" | grep -c 'CHECK PASS' || true)
    bad=$(echo "$results" | grep -c 'CHECK FAIL' || true)
    # Each scenario declares how many checks it prints ("# checks: N"); one that dies halfway prints fewer.
    local scenario file declared printed
    local expected
    if [ "$name" = busybox ]; then expected=("${busybox_scenarios[@]}"); else expected=("${systemd_scenarios[@]}"); fi
    for scenario in "${expected[@]}"; do
        file=$here/guest/scenarios/$scenario.sh
        [ -f "$file" ] || file=$here/guest/systemd-scenarios/$scenario.sh
        declared=$(sed -n 's/^# checks: \([0-9]*\)$/\1/p' "$file")
        printed=$(echo "$results" | grep -c "^\[$scenario\] CHECK " || true)
        if [ -z "$declared" ]; then
            echo "[$scenario] CHECK FAIL $scenario: the scenario declares its number of checks (# checks: N)"
            bad=$((bad + 1))
        elif [ "$printed" -ne "$declared" ]; then
            echo "[$scenario] CHECK FAIL $scenario: printed $printed checks, declares $declared"
            bad=$((bad + 1))
        fi
    done
    if ! echo "$results" | grep -q MDEV-TESTBED-END; then
        log "the $name guest did not finish (see $output)"
        tail -n 30 "$output" >&2
        bad=$((bad + 1))
    elif [ "$bad" -gt 0 ]; then
        log "console: $output"
        echo "$results" | grep -v -E '^(SCENARIO|\[[a-z-]+\] (CHECK|FIGURE))' | tail -n 40 >&2 || true
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
}

if ((${#busybox_scenarios[@]})); then
    build_initramfs
    list=$(IFS=,; echo "${busybox_scenarios[*]}")
    # An emulated IOMMU gives the virtual functions IOMMU groups, so a VM-like holder can open one through VFIO.
    boot busybox -device intel-iommu,intremap=off "${sriov[@]}" -initrd "$build/initramfs.gz" \
        -append "console=ttyS0 quiet loglevel=0 panic=-1 intel_iommu=on mdev.scenarios=$list"
fi
if ((${#systemd_scenarios[@]})); then
    build_disk
    boot systemd "${sriov[@]}" -initrd "/boot/initrd.img-$version" -drive "file=$build/disk.img,if=virtio,format=raw" \
        -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 panic=-1 systemd.show_status=0"
fi
echo "testbed: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
