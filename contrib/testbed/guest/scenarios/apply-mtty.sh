# apply on the kernel's mtty sample driver: the planned devices appear with the derived UUIDs, a second
# apply changes nothing, a type switch goes through the shared pool, and an empty list removes ours.
# checks: 8
. /lib.sh
echo "FIGURE binary-bytes $(stat -c %s $BIN) (the package's, stripped; goal <= 20000000)"
config=/etc/apply-mtty.yaml
write_config $config mtty-2
$BIN plan --config $config --node-name testbed --format json > /tmp/plan.json
planned=$(sed -n 's/.*"uuid" : "\(.*\)".*/\1/p' /tmp/plan.json | sort)
$BIN apply --config $config --node-name testbed > /tmp/apply.out 2> /tmp/apply.err
check "apply exits 0" [ $? -eq 0 ]
check "12 mtty-2 devices exist" has_devices mtty mtty-2 12
check "the devices have the planned, derived UUIDs" [ "$(all_devices)" = "$planned" ]
$BIN apply --config $config --node-name testbed > /tmp/apply.out 2> /tmp/apply2.err
check "a second apply exits 0" [ $? -eq 0 ]
check "a second apply changes nothing" [ ! -s /tmp/apply2.err ]
write_config $config mtty-1
$BIN apply --config $config --node-name testbed > /tmp/apply.out 2> /tmp/apply3.err
check "switching to mtty-1 exits 0" [ $? -eq 0 ]
check "24 mtty-1 devices and no mtty-2 device remain" all_of "has_devices mtty mtty-1 24" "has_devices mtty mtty-2 0"
printf 'mediatedDevicesConfiguration:\n  mediatedDeviceTypes: []\n' > $config
$BIN apply --config $config --node-name testbed > /tmp/apply.out 2> /tmp/apply4.err
check "an empty list removes every device this program created" is_count 0
