# MIG-backed vGPU types on a real kernel (mdevReconciler.manageMIG): the project's fake libnvidia-ml (model
# sim-mig: the test driver's GPU with MIG, two GPU-instance profiles, two MIG-backed types) tells the test
# driver its MIG mode and GPU instances after every change (vendor-mig, through the ".mirror" file beside it),
# so the functions list a MIG-backed type only while a free instance of its profile exists, as NVIDIA's
# driver does. The daemon turns MIG mode on, creates the instances and configures the functions; restarted,
# it makes nothing twice; on a config change it removes its vGPUs, destroys its own instances and makes those
# of the new profile. A copy of the fake and a state directory of its own.
# checks: 13
. /lib.sh
mkdir -p /etc/mdev-reconciler /tmp/vendor-mig
config=/etc/mdev-reconciler/vendor-mig.yaml
state=/tmp/vendor-mig/state
nvml=/tmp/vendor-mig/libnvidia-ml.so.1
cp /usr/lib/testbed/libnvidia-ml.so.1 $nvml
pf=$(sriov_pf)
check "QEMU's nvme offers 4 SR-IOV virtual functions" [ -n "$pf" ]
echo "$pf=sim-mig" > $nvml.gpus
echo /sys/class/nvidia/control > $nvml.mirror
sim vendor-enable "$pf" 4
vf0=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn0)")
lists() { cat "/sys/bus/pci/devices/$vf0/nvidia/creatable_vgpu_types"; }
check "with MIG mode off a function lists time-sliced types only" all_of "lists | grep -q 'NVIDIA SIM-2Q'" "! lists | grep -q 'SIM-1-2C'"
(echo 2011 > "/sys/bus/pci/devices/$vf0/nvidia/current_vgpu_type") 2>/tmp/vendor-mig/eio.txt
check "and the driver refuses a MIG-backed type with EIO" all_of "grep -q 'Input/output error' /tmp/vendor-mig/eio.txt" "functions_with 0 4"

MDEV_RECONCILER_NVML_LIBRARY=$nvml $BIN types --state-dir $state >/tmp/vendor-mig/types.txt 2>&1
check "types lists NVML's MIG-backed types with their profiles while MIG mode is off" \
    grep -q "nvidia-2011 .*NVIDIA SIM-1-2C .*MIG-backed: a GPU instance of profile 19 each" /tmp/vendor-mig/types.txt

# mig_config <type>: the config wanting that type with manageMIG, replaced atomically.
mig_config() {
    write_config $config.new "$1"
    printf 'mdevReconciler:\n  manageMIG: true\n' >> $config.new
    mv $config.new $config
}
mig_config NVIDIA_SIM-1-2C
n=$(log_lines 2>/dev/null || echo 0)
export MDEV_RECONCILER_NVML_LIBRARY=$nvml
start_daemon $config --state-dir $state
unset MDEV_RECONCILER_NVML_LIBRARY
check "the daemon turns MIG mode on, creates four GPU instances and gives each function SIM-1-2C" wait_until 60 functions_with 2011 4
# first_line <text>: the number of the daemon log's first line after line $n with the text.
first_line() { tail -n +$((n + 1)) /tmp/daemon.log | grep -n "$1" | head -n 1 | cut -d: -f1; }
check "as its log says, the GPU made ready before its functions are configured" all_of \
    "log_has 'turned MIG mode on for GPU $pf, for NVIDIA SIM-1-2C'" \
    "log_has 'created 4 GPU instances of profile 19 on GPU $pf for NVIDIA SIM-1-2C; it has 4'" \
    "[ \$(first_line 'created 4 GPU instances') -lt \$(first_line 'configured .* as nvidia-2011') ]"
check "NVML has the four instances, and the record keeps them as this program's" \
    all_of "grep -q '^$pf=sim-mig:mig:gi=19#1/19#2/19#3/19#4\$' $nvml.state" "grep -q gpuInstances $state/nvidia-vgpu.json"
kill -TERM $DAEMON_PID
wait $DAEMON_PID
check "SIGTERM exits 0" [ $? -eq 0 ]

# Started again (NVML loaded afresh from its state): the GPU is ready, nothing is made twice.
n=$(log_lines)
export MDEV_RECONCILER_NVML_LIBRARY=$nvml
start_daemon $config --state-dir $state
unset MDEV_RECONCILER_NVML_LIBRARY
wait_log 60 "first pass done" $n
check "a restarted daemon's first pass makes no instance and configures nothing" all_of "functions_with 2011 4" \
    "! tail -n +$((n + 1)) /tmp/daemon.log | grep -q -e 'GPU instance' -e 'MIG mode' -e configured" \
    "grep -q '^$pf=sim-mig:mig:gi=19#1/19#2/19#3/19#4\$' $nvml.state"

# Another profile: the SIM-1-2C vGPUs go, then this program's four instances, then three of profile 14 come.
n=$(log_lines)
mig_config NVIDIA_SIM-2-4C
check "a config change to SIM-2-4C converges: three functions have it, none SIM-1-2C" \
    wait_until 60 all_of "functions_with 2012 3" "functions_with 2011 0"
check "this program's instances of profile 19 were destroyed, as the log says" \
    wait_log 10 "destroyed GPU instances 1, 2, 3, 4 of GPU $pf" $n
check "NVML has exactly three instances, all of profile 14" grep -q "^$pf=sim-mig:mig:gi=14#[0-9]*/14#[0-9]*/14#[0-9]*\$" $nvml.state
kill -TERM $DAEMON_PID
wait $DAEMON_PID
check "SIGTERM exits 0 again" [ $? -eq 0 ]
sim vendor-disable "$pf"
