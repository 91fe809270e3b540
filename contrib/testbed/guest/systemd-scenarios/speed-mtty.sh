# Side by side on mtty, 24 mtty-1 devices each way, each from none: raw shell writes to sysfs, one
# `mdev-reconciler apply`, Debian's mdevctl (one `mdevctl start` per device, as its users do), each the
# median of three rounds, and the installed daemon from the parent's registration (insmod returned) to
# converged, minus its debounce.
# FIGURE lines with the ratios against the raw writes; nothing here is a timed check.
# checks: 5
. /lib.sh
create=/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/create
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
remove_all() { for device in /sys/bus/mdev/devices/*; do [ -e "$device/remove" ] && echo 1 > "$device/remove"; done; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
uuids=$(for i in $(seq 24); do cat /proc/sys/kernel/random/uuid; done)
systemctl stop $unit 2>/dev/null
remove_all

# rounds <function>: the median of three rounds, each timed by the function (999999 for a round whose
# devices were not all made) once udevd has handled the last round's events, the devices removed after each.
rounds() {
    for round in 1 2 3; do
        udevadm settle  # each round starts on a quiet system, udevd done with the last one's events
        ms=$("$1")
        if has_devices mtty mtty-1 24; then echo "$ms"; else echo 999999; fi
        remove_all
    done | sort -n > /tmp/rounds-$1
    sed -n 2p /tmp/rounds-$1
}
# The three rounds of <function>, in order of time.
all_rounds() { echo $(cat /tmp/rounds-$1); }
raw_round() { t0=$(now_ms); for uuid in $uuids; do echo $uuid > $create; done; t1=$(now_ms); echo $((t1 - t0)); }
raw=$(rounds raw_round)
check "raw writes made 24 devices, three times" [ "$raw" -lt 999999 ]

write_config /tmp/speed.yaml mtty-1
# Where apply's time goes: the process alone (--version parses arguments too), then plan (reading sysfs,
# the config and /proc, and planning), each the median of 5 runs.
median5() {
    for i in 1 2 3 4 5; do a=$(now_ms); "$@" > /dev/null 2>&1; b=$(now_ms); echo $((b - a)); done | sort -n | sed -n 3p
}
start_ms=$(median5 $BIN --version)
plan_ms=$(median5 $BIN plan --config /tmp/speed.yaml --node-name testbed)
apply_round() {
    t0=$(now_ms); $BIN apply --config /tmp/speed.yaml --node-name testbed > /tmp/speed-apply.out 2>&1 || { echo 999999; return; }
    t1=$(now_ms)
    echo $((t1 - t0))
}
apply=$(rounds apply_round)
check "one apply made 24 devices, three times" [ "$apply" -lt 999999 ]

mdevctl_round() {
    t0=$(now_ms)
    for uuid in $uuids; do mdevctl start --uuid $uuid --parent mtty --type mtty-1 >> /tmp/mdevctl.log 2>&1 || break; done
    t1=$(now_ms)
    echo $((t1 - t0))
}
mdevctl_ms=$(rounds mdevctl_round)
check "24 mdevctl start made 24 devices, three times" [ "$mdevctl_ms" -lt 999999 ]

# The daemon, as the package runs it (default debounce, 100 ms), waiting for the parent to register.
debounce=100
write_config /etc/mdev-reconciler/config.yaml mtty-1
rmmod mtty
systemctl start $unit
udevadm settle
mark=$(cursor)
t0=$(now_ms)
insmod /lib/modules/$(uname -r)/extra/mtty.ko
t1=$(now_ms)
check "the daemon converged from the parent's registration (24 devices)" wait_until 60 has_devices mtty mtty-1 24
# The daemon's own timestamps, from the journal, in milliseconds.
entry_ms() {
    journal -o short-unix --after-cursor="$mark" | grep "$1" | sed -n "${2}p" | \
        awk '{ split($1, t, "."); printf "%.0f", t[1] * 1000 + substr(t[2] "000", 1, 3) }' | tr -d '\n'
}
# Converged: the daemon logs its creations once the parent's writes returned (polling sysfs from the shell
# here would add its own 50 to 100 ms).
created_last=$(entry_ms "created .* on mtty" '$')
daemon=$(( ${created_last:-999999} - t1 - debounce ))
systemctl stop $unit
remove_all
check "every device is gone again" is_count 0

echo "FIGURE speed-raw-writes-24-ms $raw (rounds: $(all_rounds raw_round))"
echo "FIGURE speed-apply-24-ms $apply (rounds: $(all_rounds apply_round))"
echo "FIGURE speed-mdevctl-start-24-ms $mdevctl_ms (rounds: $(all_rounds mdevctl_round))"
echo "FIGURE speed-daemon-registration-to-converged-minus-debounce-ms $daemon (insmod took $((t1 - t0)) ms)"
echo "FIGURE speed-process-start-ms $start_ms (--version, median of 5)"
echo "FIGURE speed-plan-ms $plan_ms (median of 5)"
echo "FIGURE speed-apply-vs-raw $(ratio $apply $raw)x (goal <= 3)"
echo "FIGURE speed-daemon-vs-raw $(ratio $daemon $raw)x (goal <= 2)"
echo "FIGURE speed-mdevctl-vs-raw $(ratio $mdevctl_ms $raw)x"
