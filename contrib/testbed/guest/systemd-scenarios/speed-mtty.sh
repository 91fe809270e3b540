# Side by side on mtty, 24 mtty-1 devices each way, each from none: raw shell writes to sysfs, one
# `mdev-reconciler apply`, Debian's mdevctl (one `mdevctl start` per device, as its users do), and the
# installed daemon from the parent's registration (insmod returned) to converged, minus its debounce.
# FIGURE lines with the ratios against the raw writes; nothing here is a timed check.
# checks: 5
. /lib.sh
unit=mdev-reconciler.service
create=/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/create
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
remove_all() { for device in /sys/bus/mdev/devices/*; do [ -e "$device/remove" ] && echo 1 > "$device/remove"; done; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
uuids=$(for i in $(seq 24); do cat /proc/sys/kernel/random/uuid; done)
systemctl stop $unit 2>/dev/null
remove_all

t0=$(now_ms); for uuid in $uuids; do echo $uuid > $create; done; t1=$(now_ms)
raw=$((t1 - t0))
check "raw writes made 24 devices" has_devices mtty mtty-1 24
remove_all

write_config /tmp/speed.yaml mtty-1
t0=$(now_ms); $BIN apply --config /tmp/speed.yaml --node-name testbed > /tmp/speed-apply.out 2>&1; status=$?; t1=$(now_ms)
apply=$((t1 - t0))
check "one apply made 24 devices" all_of "[ $status -eq 0 ]" "has_devices mtty mtty-1 24"
remove_all

t0=$(now_ms)
for uuid in $uuids; do mdevctl start --uuid $uuid --parent mtty --type mtty-1 >> /tmp/mdevctl.log 2>&1 || break; done
t1=$(now_ms)
mdevctl_ms=$((t1 - t0))
check "24 mdevctl start made 24 devices" has_devices mtty mtty-1 24
remove_all

# The daemon, as the package runs it (default debounce, 100 ms), waiting for the parent to register.
debounce=100
write_config /etc/mdev-reconciler/config.yaml mtty-1
rmmod mtty
systemctl start $unit
t0=$(now_ms)
insmod /lib/modules/$(uname -r)/extra/mtty.ko
t1=$(now_ms)
deadline=$(( $(date +%s) + 60 ))
while ! has_devices mtty mtty-1 24 && [ "$(date +%s)" -lt $deadline ]; do :; done
t2=$(now_ms)
daemon=$((t2 - t1 - debounce))
check "the daemon converged from the parent's registration (24 devices)" has_devices mtty mtty-1 24
systemctl stop $unit
remove_all
check "every device is gone again" is_count 0

echo "FIGURE speed-raw-writes-24-ms $raw"
echo "FIGURE speed-apply-24-ms $apply"
echo "FIGURE speed-mdevctl-start-24-ms $mdevctl_ms"
echo "FIGURE speed-daemon-registration-to-converged-minus-debounce-ms $daemon (insmod took $((t1 - t0)) ms)"
echo "FIGURE speed-apply-vs-raw $(ratio $apply $raw)x (goal <= 3)"
echo "FIGURE speed-daemon-vs-raw $(ratio $daemon $raw)x (goal <= 2)"
echo "FIGURE speed-mdevctl-vs-raw $(ratio $mdevctl_ms $raw)x"
