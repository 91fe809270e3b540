# NVIDIA's vendor-specific mode on a real kernel: the project's simulator gives the SR-IOV virtual
# functions of QEMU's nvme (sriov_max_vfs=4) NVIDIA's nvidia/ directory with the driver's rules (an 8 GB
# GPU, one vGPU size per GPU, lists that collapse, EINVAL, EBUSY, EPERM right after a VM exits, no uevent
# on writes). The daemon fills the GPU when its functions appear (pci add, then change), switches size on a
# config change (retrying EPERM), and forgets the functions when they go; apply does the same once.
# checks: 18
. /lib.sh
mkdir -p /etc/mdev-reconciler
config=/etc/mdev-reconciler/vendor.yaml
pf=$(sriov_pf)
check "QEMU's nvme offers 4 SR-IOV virtual functions" [ -n "$pf" ]
current_of() { cat "/sys/bus/pci/devices/$1/nvidia/current_vgpu_type" 2>/dev/null; }

write_config $config NVIDIA_SIM-2Q
n=$(log_lines 2>/dev/null || echo 0)
start_daemon $config
wait_log 60 "first pass done" $n
n=$(log_lines)
sim vendor-enable "$pf" 4
vf0=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn0)")
vf1=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn1)")
check "the functions list the driver's table, header first" grep -q "^2002  : NVIDIA SIM-2Q" "/sys/bus/pci/devices/$vf0/nvidia/creatable_vgpu_types"
check "functions that appear at run time are filled: 4 × SIM-2Q on the 8 GB GPU" wait_until 60 functions_with 2002 4
check "as vGPUs configured on the functions, named with their GPU" log_has "configured $vf0 as nvidia-2002"
check "the full GPU lists the header only" [ "$(cat /sys/bus/pci/devices/$vf1/nvidia/creatable_vgpu_types)" = "ID    : vGPU Name" ]
check "the record names the functions" grep -q "\"$vf0\"" /var/lib/mdev-reconciler/nvidia-vgpu.json

# A VM just exited from the first function: the driver refuses to clear it twice (EPERM).
sim refuse-clear "$vf0" 2
refused0=$(refused)
n=$(log_lines)
write_config $config NVIDIA_SIM-4Q
check "a config change to another size: 2 × SIM-4Q (the driver's EPERM retried)" wait_until 60 functions_with 2003 2
check "the driver did refuse the clear twice" [ "$(refused)" -eq $((refused0 + 2)) ]
check "and no SIM-2Q is left" functions_with 2002 0
check "cleared and configured, as the log says" all_of "log_has 'cleared $vf0 (was nvidia-2002)'" "log_has 'as nvidia-2003'"
check "no write failed" [ "$(tail -n +$((n + 1)) /tmp/daemon.log | grep -c 'failed\|Operation not permitted')" -eq 0 ]

# Refused longer than the backend retries (about 8 s): the failure is logged with the kernel's EPERM and
# the daemon's backoff retries until the driver gives in.
holder=
for vf in $(ls -d /sys/bus/pci/devices/$pf/virtfn*); do [ "$(cat $vf/nvidia/current_vgpu_type)" = 2003 ] && holder=$(basename "$(readlink $vf)"); done
sim refuse-clear "$holder" 10
refused0=$(refused)
n=$(log_lines)
write_config $config NVIDIA_SIM-8Q
check "EPERM beyond the retries is logged with the kernel's error" wait_log 60 "$holder: remove vGPU nvidia-2003: .*Operation not permitted" $n
check "and retried with backoff until the GPU converges to 1 × SIM-8Q" wait_until 90 all_of "functions_with 2004 1" "functions_with 2003 0"
check "after the driver refused all 10 clears" [ "$(refused)" -eq $((refused0 + 10)) ]

# The driver unloads: the functions go, the daemon forgets them.
n=$(log_lines)
sim vendor-disable "$pf"
check "functions that go are forgotten" wait_log 30 "parent $vf0 is gone" $n
kill -TERM $DAEMON_PID
wait $DAEMON_PID
check "SIGTERM exits 0" [ $? -eq 0 ]

# apply, once, on functions enabled again (their types are gone with them).
sim vendor-enable "$pf" 4
$BIN apply --config $config --node-name testbed >/tmp/apply.log 2>&1
status=$?
check "apply fills the GPU again and exits 0" all_of "[ $status -eq 0 ]" "functions_with 2004 1"
check "apply prints what it configured" grep -q "^configured .* as nvidia-2004" /tmp/apply.log
sim vendor-disable "$pf"
