// The NVML functions mdev-reconciler uses, resolved at run time from libnvidia-ml.so.1 (it comes with
// NVIDIA's driver; a host without it has no NVML and nothing here is called). Declared from NVIDIA's own
// nvml.h, which contrib/setup.sh fetches (PyPI, nvidia-nvml-dev) and which is never committed.
#ifndef CNVML_H
#define CNVML_H

#include "nvml.h"

/// What nvmlVgpuTypeGetGpuInstanceProfileId gives a vGPU type that needs no MIG GPU instance (nvml.h names
/// it INVALID_GPU_INSTANCE_PROFILE_ID without defining it).
#define CNVML_NO_GPU_INSTANCE_PROFILE 0xFFFFFFFFu

/// One pointer per function, with the type nvml.h declares; NULL when the library lacks it (an older driver).
typedef struct {
    __typeof__(&nvmlInit_v2) initialize;
    __typeof__(&nvmlShutdown) shutdown;
    __typeof__(&nvmlErrorString) errorString;
    __typeof__(&nvmlSystemGetDriverVersion) systemGetDriverVersion;
    __typeof__(&nvmlDeviceGetCount_v2) deviceGetCount;
    __typeof__(&nvmlDeviceGetHandleByIndex_v2) deviceGetHandleByIndex;
    __typeof__(&nvmlDeviceGetHandleByPciBusId_v2) deviceGetHandleByPciBusId;
    __typeof__(&nvmlDeviceGetPciInfo_v3) deviceGetPciInfo;
    __typeof__(&nvmlDeviceGetName) deviceGetName;
    __typeof__(&nvmlDeviceGetHostVgpuMode) deviceGetHostVgpuMode;
    __typeof__(&nvmlDeviceGetVgpuHeterogeneousMode) deviceGetVgpuHeterogeneousMode;
    __typeof__(&nvmlDeviceGetSupportedVgpus) deviceGetSupportedVgpus;
    __typeof__(&nvmlDeviceGetCreatableVgpus) deviceGetCreatableVgpus;
    __typeof__(&nvmlVgpuTypeGetName) vgpuTypeGetName;
    __typeof__(&nvmlVgpuTypeGetClass) vgpuTypeGetClass;
    __typeof__(&nvmlVgpuTypeGetFramebufferSize) vgpuTypeGetFramebufferSize;
    __typeof__(&nvmlVgpuTypeGetMaxInstances) vgpuTypeGetMaxInstances;
    __typeof__(&nvmlVgpuTypeGetGpuInstanceProfileId) vgpuTypeGetGpuInstanceProfileId;
    __typeof__(&nvmlDeviceGetMigMode) deviceGetMigMode;
    __typeof__(&nvmlDeviceGetGpuInstanceProfileInfoV) deviceGetGpuInstanceProfileInfoV;
    __typeof__(&nvmlDeviceGetGpuInstances) deviceGetGpuInstances;
    __typeof__(&nvmlDeviceGetGpuInstanceById) deviceGetGpuInstanceById;
    __typeof__(&nvmlGpuInstanceGetInfo) gpuInstanceGetInfo;
    __typeof__(&nvmlDeviceGetGpuInstanceRemainingCapacity) deviceGetGpuInstanceRemainingCapacity;
    // The calls that change a GPU: MIG mode, GPU instances.
    __typeof__(&nvmlDeviceSetMigMode) deviceSetMigMode;
    __typeof__(&nvmlDeviceCreateGpuInstance) deviceCreateGpuInstance;
    __typeof__(&nvmlGpuInstanceDestroy) gpuInstanceDestroy;
} cnvml_functions;

/// Opens the library at `path` and resolves every function above that it has. Returns NULL when it cannot
/// be opened or lacks nvmlInit_v2 or nvmlErrorString, with dlerror's text in `error`. The library itself
/// stays loaded for the rest of the process (NVML keeps threads of its own); the table is freed by
/// cnvml_release.
const cnvml_functions *cnvml_open(const char *path, char *error, unsigned long error_size);

/// Frees a table cnvml_open returned.
void cnvml_release(const cnvml_functions *functions);

/// The version a caller sets in the versioned structs it passes (nvml.h's macros, which Swift cannot use).
unsigned int cnvml_gpu_instance_profile_info_v2_version(void);
unsigned int cnvml_vgpu_heterogeneous_mode_v1_version(void);

#endif
