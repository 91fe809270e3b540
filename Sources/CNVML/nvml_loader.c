#include "cnvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOLVE(field, symbol) table->field = (__typeof__(table->field))dlsym(library, #symbol)

const cnvml_functions *cnvml_open(const char *path, char *error, unsigned long error_size) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(error, error_size, "%s", reason != NULL ? reason : "dlopen failed");
        return NULL;
    }
    cnvml_functions *table = calloc(1, sizeof *table);
    if (table == NULL) {
        snprintf(error, error_size, "out of memory");
        dlclose(library);
        return NULL;
    }
    RESOLVE(initialize, nvmlInit_v2);
    RESOLVE(shutdown, nvmlShutdown);
    RESOLVE(errorString, nvmlErrorString);
    RESOLVE(systemGetDriverVersion, nvmlSystemGetDriverVersion);
    RESOLVE(deviceGetCount, nvmlDeviceGetCount_v2);
    RESOLVE(deviceGetHandleByIndex, nvmlDeviceGetHandleByIndex_v2);
    RESOLVE(deviceGetHandleByPciBusId, nvmlDeviceGetHandleByPciBusId_v2);
    RESOLVE(deviceGetPciInfo, nvmlDeviceGetPciInfo_v3);
    RESOLVE(deviceGetName, nvmlDeviceGetName);
    RESOLVE(deviceGetHostVgpuMode, nvmlDeviceGetHostVgpuMode);
    RESOLVE(deviceGetVgpuHeterogeneousMode, nvmlDeviceGetVgpuHeterogeneousMode);
    RESOLVE(deviceGetSupportedVgpus, nvmlDeviceGetSupportedVgpus);
    RESOLVE(deviceGetCreatableVgpus, nvmlDeviceGetCreatableVgpus);
    RESOLVE(vgpuTypeGetName, nvmlVgpuTypeGetName);
    RESOLVE(vgpuTypeGetClass, nvmlVgpuTypeGetClass);
    RESOLVE(vgpuTypeGetFramebufferSize, nvmlVgpuTypeGetFramebufferSize);
    RESOLVE(vgpuTypeGetMaxInstances, nvmlVgpuTypeGetMaxInstances);
    RESOLVE(vgpuTypeGetGpuInstanceProfileId, nvmlVgpuTypeGetGpuInstanceProfileId);
    RESOLVE(deviceGetMigMode, nvmlDeviceGetMigMode);
    RESOLVE(deviceGetGpuInstanceProfileInfoV, nvmlDeviceGetGpuInstanceProfileInfoV);
    RESOLVE(deviceGetGpuInstances, nvmlDeviceGetGpuInstances);
    RESOLVE(deviceGetGpuInstanceById, nvmlDeviceGetGpuInstanceById);
    RESOLVE(gpuInstanceGetInfo, nvmlGpuInstanceGetInfo);
    RESOLVE(deviceGetGpuInstanceRemainingCapacity, nvmlDeviceGetGpuInstanceRemainingCapacity);
    RESOLVE(deviceSetMigMode, nvmlDeviceSetMigMode);
    RESOLVE(deviceCreateGpuInstance, nvmlDeviceCreateGpuInstance);
    RESOLVE(gpuInstanceDestroy, nvmlGpuInstanceDestroy);
    if (table->initialize == NULL || table->errorString == NULL) {
        snprintf(error, error_size, "%s has no nvmlInit_v2 or nvmlErrorString: not NVIDIA's NVML library", path);
        free(table);
        dlclose(library);
        return NULL;
    }
    return table;
}

void cnvml_release(const cnvml_functions *functions) { free((void *)functions); }

unsigned int cnvml_gpu_instance_profile_info_v2_version(void) { return nvmlGpuInstanceProfileInfo_v2; }

unsigned int cnvml_vgpu_heterogeneous_mode_v1_version(void) { return nvmlVgpuHeterogeneousMode_v1; }
