# NVIDIA SR-IOV GPUs in mdev mode (A-series with vGPU 16 and older) on a real kernel: the test driver
# registers four A16-like virtual functions of one GPU as mdev parents with physfn links. The daemon
# chooses one type for the GPU, fills it up to the type's max_instance with one device per function, and
# on a size change refills the whole GPU.
# checks: 8
. /lib.sh
mkdir -p /etc/mdev-reconciler
config=/etc/mdev-reconciler/sriov.yaml
gpu=0000:81:00.0
vfs="0000:81:00.4 0000:81:00.5 0000:81:00.6 0000:81:00.7"
# gpu_has <type-number> <count>: the GPU's functions hold count devices of nvidia-<number> in all.
gpu_has() {
    total=0
    for vf in $vfs; do total=$((total + $(devices_of $vf nvidia-$1))); done
    [ "$total" -eq "$2" ]
}
# Every function holds at most one device.
one_each() { for vf in $vfs; do [ "$(ls /sys/class/mdev_bus/$vf | grep -c -- '-.*-')" -le 1 ] || return 1; done; }

register() {
    sim add-gpu $gpu || return 1
    for vf in $vfs; do sim add-vf $vf $gpu || return 1; done
}
check "the test driver registers a GPU and four functions" register
check "the functions are mdev parents that name their GPU (physfn)" \
    [ "$(basename "$(readlink /sys/class/mdev_bus/0000:81:00.4/physfn)")" = "$gpu" ]
write_config $config NVIDIA_A16-8Q
n=$(log_lines 2>/dev/null || echo 0)
start_daemon $config
check "the GPU is filled to its max_instance: 2 × A16-8Q" wait_until 60 gpu_has 693 2
check "one device per function" one_each
check "a free function offers no more once the GPU is full" \
    [ "$(cat /sys/class/mdev_bus/0000:81:00.7/mdev_supported_types/nvidia-693/available_instances)" -eq 0 ]
write_config $config NVIDIA_A16-4Q
check "a size change refills the whole GPU: 4 × A16-4Q, no A16-8Q left" wait_until 60 all_of "gpu_has 692 4" "gpu_has 693 0"
check "the journal names the GPU of each function" log_has "mdev_card=$gpu"
kill -TERM $DAEMON_PID
wait $DAEMON_PID
check "SIGTERM exits 0" [ $? -eq 0 ]
# The functions go with their devices, so the other scenarios count only their own.
for vf in $vfs; do sim remove $vf; done
sim remove $gpu
