# The daemon on mtty: converges at start; the driver unloaded and loaded again gets the same UUIDs back; a
# config edit by rename switches types; SIGHUP reloads; a held device is never removed and the daemon stays
# responsive, then converges once it is released; an unparsable config removes nothing; SIGTERM exits 0
# and leaves every device in place.
# checks: 19
. /lib.sh
mkdir -p /etc/mdev-reconciler
config=/etc/mdev-reconciler/config.yaml
write_config $config mtty-2
start_daemon $config
check "converges at start" wait_until 60 has_devices mtty mtty-2 12
check "READY: the first pass is logged" wait_log 10 "first pass done"
# No udevd runs in this guest: the automatic choice is the kernel's own group, and the log says so.
check "without udevd the daemon listens on the kernel group" log_has "udev kernel group"
$BIN run --config $config --node-name testbed --udev-group netlink >/tmp/group.out 2>&1
check "--udev-group takes only auto, udev or kernel" all_of "[ $? -eq 64 ]" "grep -q -- '--udev-group must be auto, udev or kernel' /tmp/group.out"
uuids=$(all_devices)

n=$(log_lines)
rmmod mtty
check "the parent going away is seen" wait_log 20 "parent mtty is gone" $n
insmod /lib/modules/mtty.ko
check "the parent coming back is refilled with the same UUIDs" wait_until 60 devices_are "$uuids"

write_config $config mtty-1
check "a config edit by rename switches the type" wait_until 60 has_devices mtty mtty-1 24
check "no mtty-2 device is left" has_devices mtty mtty-2 0

n=$(log_lines)
kill -HUP $DAEMON_PID
check "SIGHUP reloads the config" wait_log 20 "config generation" $n

held=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/devices | head -n 1)
group=$(basename "$(readlink /sys/bus/mdev/devices/$held/iommu_group)")
/usr/bin/vfio-holder "$held" "$group" > /tmp/holder.out 2>&1 &
holder=$!
check "a VM-like holder holds a device" wait_until 20 grep -q holding /tmp/holder.out
n=$(log_lines)
write_config $config mtty-2
check "the held device is kept and logged as in use" wait_log 30 "is in use by pid $holder" $n
check "the rest of the pool goes to mtty-2 meanwhile" wait_until 30 has_devices mtty mtty-2 11
n=$(log_lines)
kill -HUP $DAEMON_PID
check "the daemon stays responsive while a device is held" wait_log 20 "config generation" $n
kill $holder; wait $holder
check "once released, the parent converges (re-checked without any event)" wait_until 90 has_devices mtty mtty-2 12
check "and the formerly held device is gone" [ ! -e /sys/bus/mdev/devices/$held ]

before=$(all_devices)
n=$(log_lines)
printf 'mediatedDevicesConfiguration: [\n' > $config.tmp && mv $config.tmp $config
check "an unparsable config is rejected with its location" wait_log 20 "config.yaml:2:1" $n
rejected_settled() { wait_pass_end 20 "config.yaml:2:1" $n && [ "$(all_devices)" = "$before" ]; }
check "and removes nothing, once the pass that rejected it is done" rejected_settled

kill -TERM $DAEMON_PID
wait $DAEMON_PID
check "SIGTERM exits 0" [ $? -eq 0 ]
check "every device stays in place" [ "$(all_devices)" = "$before" ]
printf 'mediatedDevicesConfiguration:\n  mediatedDeviceTypes: []\n' > /tmp/empty.yaml
$BIN apply --config /tmp/empty.yaml --node-name testbed > /dev/null 2>&1
