# Removing the package stops the daemon and leaves every device in place; purging removes the config and
# the state directory, and still touches no device.
# checks: 8
. /lib.sh
write_config /etc/mdev-reconciler/config.yaml mtty-2
systemctl restart $unit
wait_until 60 has_devices mtty mtty-2 12
before=$(all_devices)
check "devices exist before removal (12 mtty-2)" has_devices mtty mtty-2 12
check "dpkg -r removes the package" sh -c "dpkg -r mdev-reconciler > /tmp/dpkg-r.log 2>&1 || { cat /tmp/dpkg-r.log; exit 1; }"
check "the daemon is stopped" sh -c "! systemctl is-active -q $unit && ! pgrep -x mdev-reconciler"
check "every device stays in place" [ "$(all_devices)" = "$before" ]
check "the edited config stays after removal" test -s /etc/mdev-reconciler/config.yaml
check "dpkg -P purges the package" sh -c "dpkg -P mdev-reconciler > /tmp/dpkg-p.log 2>&1 || { cat /tmp/dpkg-p.log; exit 1; }"
check "purging removes the config and the state directory" sh -c "[ ! -e /etc/mdev-reconciler ] && [ ! -e /var/lib/mdev-reconciler ]"
check "and still every device stays in place" [ "$(all_devices)" = "$before" ]
