# A virtual function a VM holds, in vendor-specific mode: the busybox guest has an emulated IOMMU, so a
# function gets an IOMMU group; bound to vfio-pci and opened by the VM-like holder, it is in use. The test
# driver then refuses to clear it (EPERM), as NVIDIA's driver does while QEMU holds a function. The daemon
# never tries: it keeps the held function, says why, and clears it only once the holder lets go.
# checks: 8
. /lib.sh
mkdir -p /etc/mdev-reconciler
config=/etc/mdev-reconciler/held.yaml
pf=$(sriov_pf)
current_of() { cat "/sys/bus/pci/devices/$1/nvidia/current_vgpu_type" 2>/dev/null; }

write_config $config NVIDIA_SIM-2Q
n=$(log_lines 2>/dev/null || echo 0)
start_daemon $config
wait_log 60 "first pass done" $n
sim vendor-enable "$pf" 4
check "the GPU is filled: 4 × SIM-2Q" wait_until 60 functions_with 2002 4
vf0=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn0)")
group=$(basename "$(readlink /sys/bus/pci/devices/$vf0/iommu_group)")
check "the function has an IOMMU group of its own" [ "$(ls /sys/kernel/iommu_groups/$group/devices)" = "$vf0" ]

# A VM takes the first function: vfio-pci, and the group opened as QEMU opens it.
echo vfio-pci > /sys/bus/pci/devices/$vf0/driver_override
echo $vf0 > /sys/bus/pci/drivers/vfio-pci/bind
/usr/bin/vfio-holder "$vf0" "$group" > /tmp/vf-holder.out 2>&1 &
holder=$!
check "a VM-like holder holds the function through VFIO" wait_until 20 grep -q holding /tmp/vf-holder.out
grep -q holding /tmp/vf-holder.out || echo "    holder: $(cat /tmp/vf-holder.out); driver: $(readlink /sys/bus/pci/devices/$vf0/driver); $(ls /dev/vfio)"
refuses() { ! echo 0 > /sys/bus/pci/devices/$vf0/nvidia/current_vgpu_type 2>/dev/null; }
check "the driver refuses to clear a held function" refuses

refused0=$(refused)
n=$(log_lines)
write_config $config NVIDIA_SIM-4Q
check "the daemon keeps the held function and says why" wait_pass_end 30 "is in use by pid $holder" $n
check "and never tries to clear it" all_of "[ $(refused) -eq $refused0 ]" "[ $(current_of $vf0) = 2002 ]"

kill $holder
wait $holder
check "once the holder lets go, the GPU converges to 2 × SIM-4Q (re-checked without any event)" \
    wait_until 90 all_of "functions_with 2003 2" "functions_with 2002 0"
kill -TERM $DAEMON_PID
wait $DAEMON_PID
check "SIGTERM exits 0" [ $? -eq 0 ]
echo $vf0 > /sys/bus/pci/drivers/vfio-pci/unbind
sim vendor-disable "$pf"
