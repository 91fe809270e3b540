# NVML beside NVIDIA's vendor-specific mode on a real kernel: the project's fake libnvidia-ml
# (contrib/nvml-fake, model "sim": the test driver's GPU, its types with how many one GPU holds), loaded
# through the program's own dlopen path (MDEV_RECONCILER_NVML_LIBRARY, the tests' override). A GPU another
# program filled lists only the header in sysfs; with NVML the program still knows every type and how many
# fit, from the first reading; without it, nothing until the GPU is free. A state directory of its own, so
# that nothing learnt by the earlier scenarios helps.
# checks: 11
. /lib.sh
mkdir -p /etc/mdev-reconciler
config=/etc/mdev-reconciler/vendor-nvml.yaml
state=/tmp/vendor-nvml-state
nvml=/usr/lib/testbed/libnvidia-ml.so.1
pf=$(sriov_pf)
check "QEMU's nvme offers 4 SR-IOV virtual functions" [ -n "$pf" ]
echo "$pf=sim" > $nvml.gpus
sim vendor-enable "$pf" 4
vf0=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn0)")
vf1=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn1)")
# Another program filled the GPU: one SIM-8Q.
echo 2004 > "/sys/bus/pci/devices/$vf0/nvidia/current_vgpu_type"
check "the full GPU lists the header only" [ "$(cat /sys/bus/pci/devices/$vf1/nvidia/creatable_vgpu_types)" = "ID    : vGPU Name" ]

MDEV_RECONCILER_NVML_LIBRARY=$nvml $BIN types --state-dir $state >/tmp/types-nvml.txt 2>&1
check "types with NVML: the GPU's modes as NVML states them" all_of \
    "grep -q '^  NVML says:' /tmp/types-nvml.txt" "grep -q '^    host vGPU mode: SR-IOV' /tmp/types-nvml.txt"
check "and SIM-2Q with NVML's capacity, though no function lists it" \
    grep -q "nvidia-2002 .*NVIDIA SIM-2Q .*at most 4 per GPU (NVML)" /tmp/types-nvml.txt
MDEV_RECONCILER_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 $BIN types --state-dir $state >/tmp/types-plain.txt 2>&1
check "without NVML the full GPU shows no SIM-2Q and no NVML" all_of \
    "! grep -q nvidia-2002 /tmp/types-plain.txt" "! grep -q 'NVML says' /tmp/types-plain.txt"

write_config $config NVIDIA_SIM-2Q
printf 'mdevReconciler:\n  removeForeignDevices: true\n' >> $config
MDEV_RECONCILER_NVML_LIBRARY=$nvml $BIN plan --config $config --state-dir $state --node-name testbed >/tmp/plan-nvml.txt 2>&1
check "the first plan with NVML gives the full GPU SIM-2Q" grep -q "nvidia-2004 .*nvidia-2002" /tmp/plan-nvml.txt
MDEV_RECONCILER_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 $BIN plan --config $config --state-dir $state --node-name testbed \
    >/tmp/plan-plain.txt 2>&1
check "the same plan without NVML knows no SIM-2Q" all_of "! grep -q nvidia-2002 /tmp/plan-plain.txt"

n=$(log_lines 2>/dev/null || echo 0)
export MDEV_RECONCILER_NVML_LIBRARY=$nvml
start_daemon $config --state-dir $state
unset MDEV_RECONCILER_NVML_LIBRARY
check "the daemon given NVML clears the foreign SIM-8Q and fills the GPU: 4 × SIM-2Q (where sysfs alone also ends)" wait_until 60 functions_with 2002 4
check "as its log says" all_of "log_has 'cleared $vf0 (was nvidia-2004)'" "log_has 'configured $vf1 as nvidia-2002'"
check "NVML answered every query (no warning about it)" all_of "! tail -n +$((n + 1)) /tmp/daemon.log | grep -q 'NVML cannot'"
kill -TERM $DAEMON_PID
wait $DAEMON_PID
check "SIGTERM exits 0" [ $? -eq 0 ]
sim vendor-disable "$pf"
rm -f $nvml.gpus
