# Under a real systemd (PID 1), udevd and journald, as the package installed it: the unit file,
# Type=notify, StatusText, the journal's fields and catalog, systemctl reload, the in-use scan of another
# user's process, a hotplug seen through udevd, the layout record and a rebalance request, the live security score, vendor-specific mode and the
# sriov-manage path under the hardened unit, and systemctl stop leaving every device in place.
# checks: 38
. /lib.sh
journal_has() { journal | grep -q "$1"; }
journal_since() { journal --after-cursor="$1" | grep -q "$2"; }

check "systemd-analyze verify accepts the unit" systemd-analyze verify /usr/lib/systemd/system/$unit
write_config /etc/mdev-reconciler/config.yaml mtty-2
# Earlier scenarios ran the unit too: this one's entries are those after this cursor.
started=$(cursor)
check "systemctl start returns and the unit is active" systemctl start $unit
check "the unit is active" systemctl is-active -q $unit
# Type=notify: start returns only after READY=1, which comes after the first pass.
check "the devices exist as soon as start returns" has_devices mtty mtty-2 12
# speed-mtty's daemon left the record at mtty-1: this one's converged layout replaces it.
check "the converged layout is recorded in the StateDirectory" wait_until 20 grep -q '"mtty" : "mtty-2"' /var/lib/mdev-reconciler/layout.json
# The cgroup's memory after the first pass of the first start, which also faulted in the binary's pages
# (a restarted unit's new cgroup is not charged again for pages already in the page cache).
unit_peak() {
    local cgroup=/sys/fs/cgroup$(systemctl show -p ControlGroup --value $unit)
    cat "$cgroup/memory.peak" 2>/dev/null || cat "$cgroup/memory.current"
}
first_peak=$(unit_peak)
status=$(systemctl show -p StatusText --value $unit)
echo "StatusText: $status"
check "StatusText is the one-line summary" [ "$status" = "1 parents, 12 devices, 0 blocked, last error: none" ]
# Counted in the verbose listing of the unit's entries: journalctl 252 with --after-cursor and further
# matches leaves out the first matching entry.
created_entries() {
    journal --after-cursor="$started" -o verbose | awk '
        /^[^ ]/ { if (id && parent) n++; id = 0; parent = 0 }
        /^    MESSAGE_ID=69c6fca13f81446ba44b82dfeee622fc$/ { id = 1 }
        /^    MDEV_PARENT=mtty$/ { parent = 1 }
        END { if (id && parent) n++; print n + 0 }'
}
at_least_12_created() { [ "$(created_entries)" -ge 12 ]; }
wait_until 10 at_least_12_created  # journald writes what it received a moment later
echo "creation entries since the start: $(created_entries)"
check "every creation is a journal entry with MESSAGE_ID and MDEV_PARENT" [ "$(created_entries)" -eq 12 ]
check "entries carry MDEV_UUID and MDEV_TYPE" sh -c "journalctl -q --no-pager -o verbose _SYSTEMD_UNIT=$unit MDEV_TYPE=mtty-2 | grep -q MDEV_UUID="
check "the daemon listens on the udev group when udevd runs" journal_has "udev udev group"
check "the catalog explains entries (journalctl -x)" sh -c "journalctl -x -q --no-pager _SYSTEMD_UNIT=$unit MESSAGE_ID=69c6fca13f81446ba44b82dfeee622fc | grep -q 'Subject: A mediated device was created'"

# The edit alone reloads through inotify; what proves ExecReload reaches the daemon is its SIGHUP line,
# in the journal after the reload, and the new generation logged after it.
write_config /etc/mdev-reconciler/config.yaml mtty-1
mark=$(cursor)
check "systemctl reload" systemctl reload $unit
check "the reload reaches the daemon as SIGHUP" wait_until 20 journal_since "$mark" "reload requested (SIGHUP)"
check "the reloaded config is applied" wait_until 60 has_devices mtty mtty-1 24
check "and logged as a new config generation after the reload" wait_until 20 journal_since "$mark" "config generation"

# The in-use scan under the hardened unit (ProtectProc=invisible, CAP_SYS_PTRACE): a VM-like holder that
# runs as another user (nobody) keeps its device through a type switch.
held=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/devices | head -n 1)
group=$(basename "$(readlink /sys/bus/mdev/devices/$held/iommu_group)")
chmod 0666 /dev/vfio/vfio /dev/vfio/$group
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/vfio-holder "$held" "$group" > /tmp/holder.out 2>&1 &
holder=$!
check "a holder running as nobody holds a device" wait_until 20 grep -q holding /tmp/holder.out
mark=$(cursor)
write_config /etc/mdev-reconciler/config.yaml mtty-2
check "the unit sees the other user's process hold it" wait_until 30 journal_since "$mark" "is in use by pid $holder"
check "and keeps it while the rest of the pool goes to mtty-2" all_of "[ -e /sys/bus/mdev/devices/$held ]" "wait_until 30 has_devices mtty mtty-2 11"
kill $holder; wait $holder 2>/dev/null
write_config /etc/mdev-reconciler/config.yaml mtty-1
check "once released and switched back, the parent converges" wait_until 90 has_devices mtty mtty-1 24

rmmod mtty
check "a driver unloading is seen through udevd" wait_until 30 journal_has "parent mtty is gone"
insmod /lib/modules/$(uname -r)/extra/mtty.ko
check "and loading again refills the parent" wait_until 60 has_devices mtty mtty-1 24

# A rebalance request under the hardened unit: the request file is watched in its StateDirectory.
mark=$(cursor)
$BIN rebalance >/dev/null
check "a rebalance request reaches the unit, which carries it out and removes the request" \
    all_of "wait_until 30 journal_since '$mark' 'the rebalance asked for is done'" "[ ! -e /var/lib/mdev-reconciler/rebalance-requested ]"

# The vendor-specific mode under the hardened unit: virtual functions enabled while it runs are configured
# through /sys/bus/pci/devices, recorded in its StateDirectory, and journaled with their GPU.
pf=$(sriov_pf)
check "QEMU's nvme offers 4 SR-IOV virtual functions" [ -n "$pf" ]
write_config /etc/mdev-reconciler/config.yaml mtty-1 NVIDIA_SIM-2Q
systemctl reload $unit
echo 0 > /sys/bus/pci/devices/$pf/sriov_drivers_autoprobe   # keep the nvme driver off the functions
sim vendor-enable "$pf" 4
check "functions enabled under the unit are configured (4 × SIM-2Q)" wait_until 60 functions_with 2002 4
check "the vGPU record is written to the StateDirectory" test -s /var/lib/mdev-reconciler/nvidia-vgpu.json
check "journal entries name the GPU (MDEV_CARD) and carry no MDEV_UUID" sh -c \
    "journalctl -q --no-pager -o verbose _SYSTEMD_UNIT=$unit MDEV_CARD=$pf MESSAGE_ID=69c6fca13f81446ba44b82dfeee622fc | grep -c MDEV_TYPE=nvidia-2002 | grep -qx 4 && ! journalctl -q --no-pager -o verbose _SYSTEMD_UNIT=$unit MDEV_CARD=$pf | grep -q MDEV_UUID="
check "mtty keeps its devices" has_devices mtty mtty-1 24
vf0=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn0)")
sim vendor-disable "$pf"
check "functions removed under the unit are forgotten" wait_until 30 sh -c "journalctl -q --no-pager _SYSTEMD_UNIT=$unit | grep -q 'parent $vf0 is gone'"

# The sriov-manage path under the hardened unit (mdevReconciler.enableVirtualFunctions): the physical
# function is made an NVIDIA GPU without functions (bound to the test driver's "nvidia" PCI driver; its
# vendor id read as NVIDIA's through a bind mount, which propagates into the unit's mount namespace), and
# a stand-in for NVIDIA's sriov-manage at /usr/lib/nvidia enables the functions as the real one does. The
# config edit that sets enableVirtualFunctions makes the running daemon run it, then configure them.
echo "$pf" > /sys/bus/pci/devices/$pf/driver/unbind
echo nvidia > /sys/bus/pci/devices/$pf/driver_override
echo "$pf" > /sys/bus/pci/drivers/nvidia/bind
echo 0x10de > /run/nvidia-vendor
mount --bind /run/nvidia-vendor /sys/bus/pci/devices/$pf/vendor
mkdir -p /usr/lib/nvidia
printf '#!/bin/sh\n# A stand-in for NVIDIA'"'"'s sriov-manage: -e <GPU> enables its functions.\n[ "$1" = -e ] || exit 2\necho "vendor-enable $2 4" > /sys/class/nvidia/control\n' \
    > /usr/lib/nvidia/sriov-manage
chmod 0755 /usr/lib/nvidia/sriov-manage
check "the GPU is bound to nvidia, reads as NVIDIA's and has no functions" \
    all_of "[ \"\$(basename \"\$(readlink /sys/bus/pci/devices/$pf/driver)\")\" = nvidia ]" "[ \"\$(cat /sys/bus/pci/devices/$pf/vendor)\" = 0x10de ]" \
    "[ \"\$(cat /sys/bus/pci/devices/$pf/sriov_numvfs)\" = 0 ]"
mark=$(cursor)
{ echo "mediatedDevicesConfiguration:"; echo "  mediatedDeviceTypes: [mtty-1, NVIDIA_SIM-2Q]"
  echo "mdevReconciler:"; echo "  enableVirtualFunctions: true"; } > /etc/mdev-reconciler/config.yaml.tmp
mv /etc/mdev-reconciler/config.yaml.tmp /etc/mdev-reconciler/config.yaml
check "the unit runs sriov-manage -e for it" wait_until 60 journal_since "$mark" "enabled the virtual functions of $pf (sriov-manage -e $pf)"
check "and configures the functions it enabled (4 × SIM-2Q)" wait_until 60 functions_with 2002 4
sim vendor-disable "$pf"
umount /sys/bus/pci/devices/$pf/vendor
echo "$pf" > /sys/bus/pci/drivers/nvidia/unbind
echo > /sys/bus/pci/devices/$pf/driver_override
rm /usr/lib/nvidia/sriov-manage
write_config /etc/mdev-reconciler/config.yaml mtty-1

# The watchdog under systemd: with WatchdogSec=2s the daemon pings at half of it (WATCHDOG=1, which moves
# the unit's watchdog timestamp) and is never restarted for missing one.
mkdir -p /etc/systemd/system/$unit.d
printf '[Service]\nWatchdogSec=2s\n' > /etc/systemd/system/$unit.d/watchdog.conf
systemctl daemon-reload
systemctl restart $unit
pinged=$(systemctl show -p WatchdogTimestampMonotonic --value $unit)
ping_moved() { [ "$(systemctl show -p WatchdogTimestampMonotonic --value $unit)" != "$pinged" ]; }
check "the daemon pings systemd's watchdog" wait_until 10 ping_moved
sleep 7  # three and a half watchdog intervals: time passing is what is checked, not an event
check "no watchdog restart over several intervals, and the unit still active" \
    all_of "[ $(systemctl show -p NRestarts --value $unit) -eq 0 ]" "systemctl is-active -q $unit"
rm -r /etc/systemd/system/$unit.d
systemctl daemon-reload

score=$(systemd-analyze security $unit 2>/dev/null | tail -n 1)
echo "FIGURE live-security $score"
# The unit's goal: at most 2.0 (systemd's levels: SAFE up to 1.9, OK up to 4.9). The unit says why each
# remaining exposure stays.
exposure=$(echo "$score" | sed -n 's/.*: \([0-9][0-9.]*\) .*/\1/p')
check "the live exposure is at most 2.0 (here ${exposure:-none})" \
    awk -v score="$exposure" 'BEGIN { exit !(score != "" && score + 0 <= 2.0) }'

# MemoryMax= is applied, and what the daemon used through every pass above is a fraction of it.
max=$(systemctl show -p MemoryMax --value $unit)
check "MemoryMax= is in force (128 MiB, here ${max:-none})" [ "$max" = 134217728 ]
peak=$(unit_peak)
[ "$first_peak" -gt "$peak" ] && peak=$first_peak
echo "FIGURE unit-memory-peak-kib $((peak / 1024))"
check "the unit's memory peak is under half of MemoryMax= ($((peak / 1024)) KiB)" [ "$peak" -lt $((max / 2)) ]

before=$(all_devices)
check "systemctl stop" systemctl stop $unit
check "the unit stopped cleanly" sh -c "[ \"\$(systemctl show -p Result --value $unit)\" = success ]"
check "every device stays in place" [ "$(all_devices)" = "$before" ]
