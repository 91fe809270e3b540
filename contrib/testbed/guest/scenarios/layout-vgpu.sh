# Removals only for a real reason, on a real kernel with the project's vGPU simulator: three T4-like cards
# converge to 16/2/16; unplugging the 228 card moves nothing, and the journal and `status` say that
# nvidia-228 is unserved and what a rebalance would move; a daemon killed after the unplug and started
# again changes nothing; the card plugged again gets its two devices back, same UUIDs, no removal
# elsewhere; after another unplug, `mdev-reconciler rebalance` moves one card; a config naming only a
# type no card has is held, and `validate` names the type meant.
# checks: 15
. /lib.sh
state=/var/lib/mdev-reconciler
rm -f $state/layout.json $state/rebalance-requested
mkdir -p /etc/mdev-reconciler
config=/etc/mdev-reconciler/layout.yaml
a=0000:5b:00.0 b=0000:5c:00.0 c=0000:5d:00.0
sim add $a t4
sim add $b t4
sim add $c t4
write_config $config nvidia-222 nvidia-228 nvidia-105 nvidia-108
start_daemon $config
check "three T4 cards converge to 16/2/16" wait_until 90 all_of "has_devices $a nvidia-222 16" "has_devices $b nvidia-228 2" \
    "has_devices $c nvidia-222 16"
check "the layout is recorded in the state directory" wait_until 10 grep -q "\"$b\" : \"nvidia-228\"" $state/layout.json
of_228=$(ls /sys/class/mdev_bus/$b/mdev_supported_types/nvidia-228/devices | sort)
kept=$(ls /sys/class/mdev_bus/$a/mdev_supported_types/nvidia-222/devices /sys/class/mdev_bus/$c/mdev_supported_types/nvidia-222/devices | sort)
# No device removed, none created, since log line $1.
unchanged_since() { ! tail -n +$(($1 + 1)) /tmp/daemon.log | grep -q -e "removed " -e "created "; }
kept_as_is() { [ "$(ls /sys/class/mdev_bus/$a/mdev_supported_types/nvidia-222/devices /sys/class/mdev_bus/$c/mdev_supported_types/nvidia-222/devices | sort)" = "$kept" ]; }

n=$(log_lines)
sim remove $b
check "the unplugged 228 card is seen" wait_pass_end 20 "parent $b is gone" $n
check "the cards that stay keep every device, and none is created or removed" all_of kept_as_is "unchanged_since $n"
check "the journal says nvidia-228 is unserved and what a rebalance would move" wait_log 10 \
    "nvidia-228: wanted, no card since $b went away; rebalance would move $c nvidia-222 → nvidia-228, removing 16 idle devices" $n
status_has() { $BIN status --status-file /run/mdev-reconciler/status.json 2>/dev/null | grep -q -F "$1"; }
check "status shows the unserved type" status_has "unserved nvidia-228: wanted, no card since $b went away"

kill -9 $DAEMON_PID
wait $DAEMON_PID 2>/dev/null
n=$(log_lines)
start_daemon $config
check "killed after the unplug and started again, the daemon changes nothing" \
    all_of "wait_log 30 'pass 1 done' $n" kept_as_is "unchanged_since $n"

n=$(log_lines)
sim add $b t4
back_228() { [ "$(ls /sys/class/mdev_bus/$b/mdev_supported_types/nvidia-228/devices 2>/dev/null | sort)" = "$of_228" ]; }
check "the card plugged again gets its two nvidia-228 devices back, with the same UUIDs" wait_until 60 back_228
check "and nothing is removed anywhere" all_of kept_as_is "! tail -n +$((n + 1)) /tmp/daemon.log | grep -q 'removed '"
check "status no longer names an unserved type" wait_until 10 eval '! status_has unserved'

n=$(log_lines)
sim remove $b
wait_pass_end 20 "parent $b is gone" $n
$BIN rebalance >/dev/null
check "mdev-reconciler rebalance moves one card to nvidia-228" wait_until 60 all_of "has_devices $a nvidia-222 16" "has_devices $c nvidia-228 2"
check "and its request is removed once done" wait_until 10 eval "[ ! -e $state/rebalance-requested ]"

n=$(log_lines)
write_config $config nvidia-22
check "a config naming only a type no card has is held, with one error naming it" wait_pass_end 20 "config held, generation .*nvidia-22" $n
check "and every device stays" all_of "has_devices $a nvidia-222 16" "has_devices $c nvidia-228 2"
check "validate names the type meant" \
    eval "$BIN validate --config $config --node-name testbed 2>&1 | grep -q -F 'nvidia-22: no card on this host has it; did you mean nvidia-222 (GRID T4-1B)?'"

kill -TERM $DAEMON_PID
wait $DAEMON_PID
# The cards go with their devices, so the other scenarios count only their own.
sim remove $a
sim remove $c
rm -f $state/layout.json
