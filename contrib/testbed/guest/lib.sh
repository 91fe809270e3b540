# Helpers for the test bed's scenarios (busybox sh). Each check prints one line:
#   CHECK PASS <scenario>: <what>    or    CHECK FAIL <scenario>: <what> (<details>)
SCENARIO=${SCENARIO:-$(basename "$0" .sh)}
BIN=/usr/sbin/mdev-reconciler
# The systemd guest's unit, its journal entries (journal [journalctl options and matches]) and the
# journal's cursor now, for entries after it (journal --after-cursor=...).
unit=mdev-reconciler.service
journal() { journalctl -q --no-pager _SYSTEMD_UNIT=$unit "$@"; }
cursor() { journalctl --no-pager -n 1 --show-cursor | sed -n 's/^-- cursor: //p'; }

pass() { echo "CHECK PASS $SCENARIO: $1"; }
fail() {
    echo "CHECK FAIL $SCENARIO: $1${2:+ ($2)}"
    if [ -f /tmp/daemon.log ]; then
        # What changed the daemon's view of the host (parents, unreadable parts), then its last lines.
        grep -E 'appeared|is gone|left out|cannot|warning|config generation' /tmp/daemon.log | tail -n 30 | sed 's/^/    daemon (view): /'
        tail -n 12 /tmp/daemon.log | sed 's/^/    daemon: /'
    fi
    return 0
}

# check <what> <command...>: passes when the command succeeds.
check() {
    what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# wait_until <seconds> <command...>: runs the command until it succeeds or the deadline passes.
wait_until() {
    deadline=$(( $(date +%s) + $1 )); shift
    while ! "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# The number of devices of <type> on <parent>, from sysfs.
devices_of() { ls "/sys/class/mdev_bus/$1/mdev_supported_types/$2/devices" 2>/dev/null | wc -l; }
# Every device UUID on the host, sorted.
all_devices() { ls /sys/bus/mdev/devices 2>/dev/null | sort; }
device_count() { all_devices | wc -l; }
is_count() { [ "$(device_count)" -eq "$1" ]; }
has_devices() { [ "$(devices_of "$1" "$2")" -eq "$3" ]; }
# devices_are <uuids>: the host's devices are exactly these (whitespace-separated, sorted).
devices_are() { [ "$(echo $(all_devices))" = "$(echo $1)" ]; }
# all_of <command> <command>...: every command (a string, run with eval) succeeds.
all_of() { for condition in "$@"; do eval "$condition" || return 1; done; }

# The daemon: start_daemon <config> [args...]; its stderr goes to /tmp/daemon.log.
start_daemon() {
    config=$1; shift
    $BIN run --config "$config" --node-name testbed --status-file /run/mdev-reconciler/status.json --log-level debug "$@" \
        >>/tmp/daemon.log 2>&1 &
    DAEMON_PID=$!
}
log_has() { grep -q "$1" /tmp/daemon.log; }
log_count() { grep -c "$1" /tmp/daemon.log; }
# wait_log <seconds> <text> [after-line]: waits for a daemon log line containing text, after a line count.
wait_log() { wait_until "$1" sh -c "tail -n +$(( ${3:-0} + 1 )) /tmp/daemon.log | grep -q \"$2\""; }
log_lines() { wc -l < /tmp/daemon.log; }
# wait_pass_end <seconds> <text> [after-line]: waits for a daemon log line with text after a line count, then
# for the end of the pass that logged it (the daemon logs "pass N done" at debug level): a check made then
# sees what that pass did, not the host before it.
wait_pass_end() {
    wait_log "$1" "$2" "${3:-0}" || return 1
    line=$(tail -n +$(( ${3:-0} + 1 )) /tmp/daemon.log | grep -n "$2" | head -n 1 | cut -d: -f1)
    wait_log "$1" "pass [0-9]* done" $(( ${3:-0} + line ))
}

# write_config <file> <types...>: a config file wanting these types, replaced atomically (rename).
write_config() {
    file=$1; shift
    { echo "mediatedDevicesConfiguration:"; echo "  mediatedDeviceTypes:"; for t in "$@"; do echo "    - $t"; done; } > "$file.tmp"
    mv "$file.tmp" "$file"
}

# sim <command...>: a control command to the test driver. One it refuses is a failed check, never ignored.
sim() {
    echo "$*" > /sys/class/nvidia/control && return 0
    fail "the test driver accepts 'sim $*'"
    return 1
}
# The number of writes the test driver refused with EPERM so far (refuse-clear), to prove a refusal happened.
refused() { cat /sys/class/nvidia/refused; }

# NVIDIA's vendor-specific mode, played by the test driver on QEMU's nvme (4 SR-IOV virtual functions).
# sriov_pf: the address of the nvme controller that offers them.
sriov_pf() {
    for device in /sys/bus/pci/devices/*; do
        [ "$(cat "$device/sriov_totalvfs" 2>/dev/null)" = 4 ] && basename "$device"
    done
}
# functions_with <number> <count>: exactly count virtual functions of the GPU $pf have type number.
functions_with() {
    found=0
    for vf in $(ls -d /sys/bus/pci/devices/$pf/virtfn* 2>/dev/null); do
        [ "$(cat "$vf/nvidia/current_vgpu_type" 2>/dev/null)" = "$1" ] && found=$((found + 1))
    done
    [ "$found" -eq "$2" ]
}
