// A fake libnvidia-ml.so.1 for mdev-reconciler's tests: the NVML functions the program uses, compiled
// against NVIDIA's own nvml.h (a signature that differs from the header does not compile), over simulated
// GPUs. Never installed; loaded through MDEV_RECONCILER_NVML_LIBRARY, the override that exists for tests.
//
// The GPUs come from a file beside the library, named as it is with ".gpus" added (so that each copy of the
// library, loaded by its own path, is a host of its own: tests run side by side in one process), entries
// separated by ';' or newlines:
//   <pci bus id>=<model>[:mig][:pending][:reset][:gi=<profile id>[#<instance id>]/...]
// Without the file nvmlInit_v2 answers DRIVER_NOT_LOADED, as on a host whose driver is not loaded. Every
// change (MIG mode, GPU instances) is saved in the same form to ".state" beside it, which a later load reads
// instead: a copy of the library with both files is the same host after a restart of the program.
// models: a100-40gb (SR-IOV, MIG capable), h100-80gb (SR-IOV, MIG capable), l40s (SR-IOV, no MIG),
// t4 (not SR-IOV, no MIG), sim (the test bed driver's 8 GB vendor-mode GPU with 4 virtual functions,
// contrib/testbed/kmod: SR-IOV, no MIG), sim-mig (the same GPU with MIG: two profiles, 19 and 14, and the
// driver's two MIG-backed types). Where a file named as the library with ".mirror" added names the test
// driver's control file, every change of a sim-mig GPU is also written there (`vendor-mig <bus id> <on>
// <instances of profile 19> <instances of profile 14>`), so that its functions list what NVML has. ":mig" starts with MIG mode enabled, ":pending" with it enabled after a reset,
// ":reset" makes enabling it need a GPU reset (some Ampere hosts); ":gi=" starts with those GPU instances.
// Rules, as NVIDIA documents them: MIG queries on a GPU without MIG are NOT_SUPPORTED; GPU-instance
// profiles are NOT_SUPPORTED while MIG mode is disabled; with MIG mode enabled only MIG-backed vGPU types
// are creatable, and only those whose profile has a GPU instance; with it disabled only time-sliced ones.
// MIG mode cannot be turned off while GPU instances exist (IN_USE); GPU instances are created only with MIG
// mode on (NOT_SUPPORTED otherwise), at most the profile's instance count and while their slices fit
// (INSUFFICIENT_RESOURCES); a new instance takes the lowest unused id, as ids are handed out again.
#define _GNU_SOURCE
#include "nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_PROFILE 0xFFFFFFFFu
#define MAX_GPUS 16
#define MAX_INSTANCES 16

typedef struct {
    unsigned int index;  // NVML_GPU_INSTANCE_PROFILE_*
    unsigned int id;
    unsigned int slices;
    unsigned int instances;
    unsigned long long memoryMB;
    const char *name;
} Profile;

typedef struct {
    nvmlVgpuTypeId_t id;
    const char *name;
    const char *typeClass;
    unsigned long long framebufferMB;
    unsigned int maxInstances;
    unsigned int profileID;  // NO_PROFILE: time-sliced
} VgpuType;

typedef struct {
    const char *key;
    const char *name;
    unsigned int pciDeviceID;  // device << 16 | vendor
    nvmlHostVgpuMode_t hostMode;
    int migCapable;
    int heterogeneousCapable;
    const Profile *profiles;
    int profileCount;
    const VgpuType *types;
    int typeCount;
} Model;

static const Profile a100Profiles[] = {
    {NVML_GPU_INSTANCE_PROFILE_1_SLICE, 19, 1, 7, 4864, "MIG 1g.5gb"},
    {NVML_GPU_INSTANCE_PROFILE_2_SLICE, 14, 2, 3, 9856, "MIG 2g.10gb"},
    {NVML_GPU_INSTANCE_PROFILE_3_SLICE, 9, 3, 2, 19968, "MIG 3g.20gb"},
    {NVML_GPU_INSTANCE_PROFILE_4_SLICE, 5, 4, 1, 19968, "MIG 4g.20gb"},
    {NVML_GPU_INSTANCE_PROFILE_7_SLICE, 0, 7, 1, 40192, "MIG 7g.40gb"},
};
static const VgpuType a100Types[] = {
    {700, "NVIDIA A100-1-5C", "Compute", 5120, 7, 19},
    {701, "NVIDIA A100-2-10C", "Compute", 10240, 3, 14},
    {702, "NVIDIA A100-3-20C", "Compute", 20480, 2, 9},
    {703, "NVIDIA A100-4-20C", "Compute", 20480, 1, 5},
    {704, "NVIDIA A100-7-40C", "Compute", 40960, 1, 0},
    {705, "NVIDIA A100-4C", "Compute", 4096, 10, NO_PROFILE},
    {706, "NVIDIA A100-10C", "Compute", 10240, 4, NO_PROFILE},
    {707, "NVIDIA A100-40C", "Compute", 40960, 1, NO_PROFILE},
};
static const Profile h100Profiles[] = {
    {NVML_GPU_INSTANCE_PROFILE_1_SLICE, 19, 1, 7, 9984, "MIG 1g.10gb"},
    {NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2, 15, 1, 4, 19968, "MIG 1g.20gb"},
    {NVML_GPU_INSTANCE_PROFILE_2_SLICE, 14, 2, 3, 19968, "MIG 2g.20gb"},
    {NVML_GPU_INSTANCE_PROFILE_3_SLICE, 9, 3, 2, 40448, "MIG 3g.40gb"},
    {NVML_GPU_INSTANCE_PROFILE_4_SLICE, 5, 4, 1, 40448, "MIG 4g.40gb"},
    {NVML_GPU_INSTANCE_PROFILE_7_SLICE, 0, 7, 1, 80896, "MIG 7g.80gb"},
};
static const VgpuType h100Types[] = {
    {800, "NVIDIA H100-1-10C", "Compute", 10240, 7, 19},
    {801, "NVIDIA H100-1-20C", "Compute", 20480, 4, 15},
    {802, "NVIDIA H100-2-20C", "Compute", 20480, 3, 14},
    {803, "NVIDIA H100-3-40C", "Compute", 40960, 2, 9},
    {804, "NVIDIA H100-4-40C", "Compute", 40960, 1, 5},
    {805, "NVIDIA H100-7-80C", "Compute", 81920, 1, 0},
    {806, "NVIDIA H100-8C", "Compute", 8192, 10, NO_PROFILE},
    {807, "NVIDIA H100-80C", "Compute", 81920, 1, NO_PROFILE},
};
// The numbers and names of the list captured on a real L40S (VendorProfiles.l40sCreatableText): 48 GB, at
// most one vGPU on each of its 32 virtual functions.
static const VgpuType l40sTypes[] = {
    {1145, "NVIDIA L40S-1B", "NVS", 1024, 32, NO_PROFILE},
    {1146, "NVIDIA L40S-2B", "NVS", 2048, 24, NO_PROFILE},
    {1147, "NVIDIA L40S-1Q", "Quadro", 1024, 32, NO_PROFILE},
    {1148, "NVIDIA L40S-2Q", "Quadro", 2048, 24, NO_PROFILE},
    {1149, "NVIDIA L40S-3Q", "Quadro", 3072, 16, NO_PROFILE},
    {1150, "NVIDIA L40S-4Q", "Quadro", 4096, 12, NO_PROFILE},
    {1151, "NVIDIA L40S-6Q", "Quadro", 6144, 8, NO_PROFILE},
    {1152, "NVIDIA L40S-8Q", "Quadro", 8192, 6, NO_PROFILE},
    {1153, "NVIDIA L40S-12Q", "Quadro", 12288, 4, NO_PROFILE},
    {1154, "NVIDIA L40S-16Q", "Quadro", 16384, 3, NO_PROFILE},
    {1155, "NVIDIA L40S-24Q", "Quadro", 24576, 2, NO_PROFILE},
    {1156, "NVIDIA L40S-48Q", "Quadro", 49152, 1, NO_PROFILE},
    {1157, "NVIDIA L40S-1A", "GRID", 1024, 32, NO_PROFILE},
    {1158, "NVIDIA L40S-2A", "GRID", 2048, 24, NO_PROFILE},
    {1159, "NVIDIA L40S-3A", "GRID", 3072, 16, NO_PROFILE},
    {1160, "NVIDIA L40S-4A", "GRID", 4096, 12, NO_PROFILE},
    {1161, "NVIDIA L40S-6A", "GRID", 6144, 8, NO_PROFILE},
    {1162, "NVIDIA L40S-8A", "GRID", 8192, 6, NO_PROFILE},
    {1163, "NVIDIA L40S-12A", "GRID", 12288, 4, NO_PROFILE},
    {1164, "NVIDIA L40S-16A", "GRID", 16384, 3, NO_PROFILE},
    {1165, "NVIDIA L40S-24A", "GRID", 24576, 2, NO_PROFILE},
    {1166, "NVIDIA L40S-48A", "GRID", 49152, 1, NO_PROFILE},
    {2164, "NVIDIA L40S-3B", "NVS", 3072, 16, NO_PROFILE},
};
static const VgpuType t4Types[] = {
    {222, "GRID T4-1B", "NVS", 1024, 16, NO_PROFILE},
    {228, "GRID T4-8A", "GRID", 8192, 2, NO_PROFILE},
    {230, "GRID T4-1Q", "Quadro", 1024, 16, NO_PROFILE},
    {234, "GRID T4-16Q", "Quadro", 16384, 1, NO_PROFILE},
};

// The test bed driver's types (contrib/testbed/kmod/mdev_vgpu_sim.c); at most one per virtual function.
#define SIM_TIME_SLICED_TYPES                                  \
    {2001, "NVIDIA SIM-1Q", "Quadro", 1024, 4, NO_PROFILE},     \
    {2002, "NVIDIA SIM-2Q", "Quadro", 2048, 4, NO_PROFILE},     \
    {2003, "NVIDIA SIM-4Q", "Quadro", 4096, 2, NO_PROFILE},     \
    {2004, "NVIDIA SIM-8Q", "Quadro", 8192, 1, NO_PROFILE},     \
    {2005, "NVIDIA SIM-2B", "NVS", 2048, 4, NO_PROFILE}
static const VgpuType simTypes[] = {SIM_TIME_SLICED_TYPES};

// The same GPU with MIG (the test driver's vendor-mig): its time-sliced types, then two MIG-backed ones.
static const Profile simMigProfiles[] = {
    {NVML_GPU_INSTANCE_PROFILE_1_SLICE, 19, 1, 7, 1024, "MIG 1g.1gb"},
    {NVML_GPU_INSTANCE_PROFILE_2_SLICE, 14, 2, 3, 2048, "MIG 2g.2gb"},
};
static const VgpuType simMigTypes[] = {
    SIM_TIME_SLICED_TYPES,
    {2011, "NVIDIA SIM-1-2C", "Compute", 1024, 7, 19},
    {2012, "NVIDIA SIM-2-4C", "Compute", 2048, 3, 14},
};

#define COUNT(array) (int)(sizeof(array) / sizeof((array)[0]))
static const Model models[] = {
    {"a100-40gb", "NVIDIA A100-PCIE-40GB", 0x20F110DE, NVML_HOST_VGPU_MODE_SRIOV, 1, 0, a100Profiles, COUNT(a100Profiles), a100Types, COUNT(a100Types)},
    {"h100-80gb", "NVIDIA H100 PCIe", 0x233110DE, NVML_HOST_VGPU_MODE_SRIOV, 1, 1, h100Profiles, COUNT(h100Profiles), h100Types, COUNT(h100Types)},
    {"l40s", "NVIDIA L40S", 0x26B910DE, NVML_HOST_VGPU_MODE_SRIOV, 0, 1, NULL, 0, l40sTypes, COUNT(l40sTypes)},
    {"t4", "Tesla T4", 0x1EB810DE, NVML_HOST_VGPU_MODE_NON_SRIOV, 0, 0, NULL, 0, t4Types, COUNT(t4Types)},
    {"sim", "NVIDIA SIM", 0x00101B36, NVML_HOST_VGPU_MODE_SRIOV, 0, 0, NULL, 0, simTypes, COUNT(simTypes)},
    {"sim-mig", "NVIDIA SIM-MIG", 0x00101B36, NVML_HOST_VGPU_MODE_SRIOV, 1, 0, simMigProfiles, COUNT(simMigProfiles), simMigTypes,
     COUNT(simMigTypes)},
};

// Simplified geometry: a MIG GPU has 7 slices, a GPU instance takes its profile's slice count, placed at the
// first offset where it fits.
#define MIG_SLICES 7

struct nvmlGpuInstance_st {
    struct nvmlDevice_st *device;
    unsigned int id;
    unsigned int profileID;
    unsigned int start, size;
    int live;
};

struct nvmlDevice_st {
    char busID[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];  // 0000:41:00.0
    const Model *model;
    int migEnabled;
    int migPending;      // MIG mode after the next GPU reset
    int resetRequired;   // ":reset": enabling MIG mode takes effect only after a GPU reset (some Ampere hosts)
    struct nvmlGpuInstance_st instances[MAX_INSTANCES];
};

static struct nvmlDevice_st gpus[MAX_GPUS];
static int gpuCount = -1;  // -1: not initialised

static const Model *modelNamed(const char *key, size_t length) {
    for (int i = 0; i < COUNT(models); i++) {
        if (strlen(models[i].key) == length && strncmp(models[i].key, key, length) == 0) return &models[i];
    }
    return NULL;
}

/// The contents of the file beside this library named as it is with `suffix` added, or NULL when there is none.
static char *readSidecar(const char *suffix) {
    Dl_info info;
    if (dladdr((void *)&readSidecar, &info) == 0 || info.dli_fname == NULL) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s%s", info.dli_fname, suffix);
    FILE *file = fopen(path, "r");
    if (file == NULL) return NULL;
    char *text = calloc(1, 65536);
    if (text != NULL && fread(text, 1, 65535, file) == 0) text[0] = '\0';
    fclose(file);
    return text;
}

static const Profile *profileWithID(const Model *model, unsigned int id) {
    for (int i = 0; i < model->profileCount; i++) {
        if (model->profiles[i].id == id) return &model->profiles[i];
    }
    return NULL;
}

/// Places an instance of `profile` with `id` on `gpu` (first fit), or answers why it cannot be.
static nvmlReturn_t place(struct nvmlDevice_st *gpu, const Profile *profile, unsigned int id, struct nvmlGpuInstance_st **placed) {
    int used[MIG_SLICES] = {0}, ofProfile = 0;
    struct nvmlGpuInstance_st *slot = NULL;
    for (int i = 0; i < MAX_INSTANCES; i++) {
        struct nvmlGpuInstance_st *instance = &gpu->instances[i];
        if (!instance->live) {
            if (slot == NULL) slot = instance;
            continue;
        }
        if (instance->id == id) return NVML_ERROR_INVALID_ARGUMENT;
        if (instance->profileID == profile->id) ofProfile++;
        for (unsigned int j = instance->start; j < instance->start + instance->size && j < MIG_SLICES; j++) used[j] = 1;
    }
    if (slot == NULL || ofProfile >= (int)profile->instances) return NVML_ERROR_INSUFFICIENT_RESOURCES;
    for (unsigned int start = 0; start + profile->slices <= MIG_SLICES; start++) {
        int free = 1;
        for (unsigned int j = start; j < start + profile->slices; j++) free &= !used[j];
        if (!free) continue;
        *slot = (struct nvmlGpuInstance_st){gpu, id, profile->id, start, profile->slices, 1};
        if (placed != NULL) *placed = slot;
        return NVML_SUCCESS;
    }
    return NVML_ERROR_INSUFFICIENT_RESOURCES;
}

static unsigned int unusedID(const struct nvmlDevice_st *gpu) {
    for (unsigned int id = 1;; id++) {
        int taken = 0;
        for (int i = 0; i < MAX_INSTANCES; i++) taken |= gpu->instances[i].live && gpu->instances[i].id == id;
        if (!taken) return id;
    }
}

/// Reads the GPUs from a spec: `<bus id>=<model>[:mig][:pending][:reset][:gi=<profile>[#<id>]/...]`, ';' or
/// newlines between GPUs.
static void parse(char *spec) {
    char *saveEntry = NULL;
    gpuCount = 0;
    for (char *entry = strtok_r(spec, ";\n", &saveEntry); entry != NULL && gpuCount < MAX_GPUS; entry = strtok_r(NULL, ";\n", &saveEntry)) {
        char *equals = strchr(entry, '=');
        if (equals == NULL) continue;
        struct nvmlDevice_st *gpu = &gpus[gpuCount];
        memset(gpu, 0, sizeof *gpu);
        snprintf(gpu->busID, sizeof gpu->busID, "%.*s", (int)(equals - entry), entry);
        char *options = equals + 1;
        size_t length = strcspn(options, ":");
        gpu->model = modelNamed(options, length);
        if (gpu->model == NULL) continue;
        for (char *option = strchr(options, ':'); option != NULL; option = strchr(option + 1, ':')) {
            if (strncmp(option, ":mig", 4) == 0 && gpu->model->migCapable) gpu->migEnabled = gpu->migPending = 1;
            if (strncmp(option, ":pending", 8) == 0 && gpu->model->migCapable) gpu->migPending = 1;
            if (strncmp(option, ":reset", 6) == 0) gpu->resetRequired = 1;
            if (strncmp(option, ":gi=", 4) == 0) {
                for (char *id = option + 4; *id != '\0' && *id != ':';) {
                    unsigned int profileID = (unsigned int)strtoul(id, &id, 10), instanceID = 0;
                    if (*id == '#') instanceID = (unsigned int)strtoul(id + 1, &id, 10);
                    const Profile *profile = profileWithID(gpu->model, profileID);
                    if (profile != NULL) place(gpu, profile, instanceID != 0 ? instanceID : unusedID(gpu), NULL);
                    if (*id == '/') id++;
                }
            }
        }
        gpuCount++;
    }
}

/// Writes each sim-mig GPU's MIG mode and instances to the test driver's control file, when the ".mirror"
/// file beside the library names one (one command per write, as the driver takes them).
static void mirror(void) {
    char *target = readSidecar(".mirror");
    if (target == NULL) return;
    target[strcspn(target, "\n")] = '\0';
    for (int i = 0; i < gpuCount; i++) {
        const struct nvmlDevice_st *gpu = &gpus[i];
        if (strcmp(gpu->model->key, "sim-mig") != 0) continue;
        unsigned int of19 = 0, of14 = 0;
        for (int j = 0; j < MAX_INSTANCES; j++) {
            if (!gpu->instances[j].live) continue;
            of19 += gpu->instances[j].profileID == 19;
            of14 += gpu->instances[j].profileID == 14;
        }
        FILE *control = fopen(target, "w");
        if (control == NULL) continue;
        fprintf(control, "vendor-mig %s %d %u %u\n", gpu->busID, gpu->migEnabled, of19, of14);
        fclose(control);
    }
    free(target);
}

/// Saves every GPU's MIG mode and GPU instances in the state file beside the library (`.state`, the same
/// spec), which a later load of a copy of it (a restart of the program) reads instead of `.gpus`.
static void saveState(void) {
    Dl_info info;
    if (dladdr((void *)&saveState, &info) == 0 || info.dli_fname == NULL) return;
    char path[4096], temporary[4200];
    snprintf(path, sizeof path, "%s.state", info.dli_fname);
    snprintf(temporary, sizeof temporary, "%s.new", path);
    FILE *file = fopen(temporary, "w");
    if (file == NULL) return;
    for (int i = 0; i < gpuCount; i++) {
        const struct nvmlDevice_st *gpu = &gpus[i];
        fprintf(file, "%s=%s%s%s%s", gpu->busID, gpu->model->key, gpu->migEnabled ? ":mig" : "",
                gpu->migPending && !gpu->migEnabled ? ":pending" : "", gpu->resetRequired ? ":reset" : "");
        const char *separator = ":gi=";
        for (int j = 0; j < MAX_INSTANCES; j++) {
            if (!gpu->instances[j].live) continue;
            fprintf(file, "%s%u#%u", separator, gpu->instances[j].profileID, gpu->instances[j].id);
            separator = "/";
        }
        fprintf(file, "\n");
    }
    fclose(file);
    rename(temporary, path);
    mirror();
}

nvmlReturn_t nvmlInit_v2(void) {
    if (gpuCount >= 0) return NVML_SUCCESS;
    char *spec = readSidecar(".state");
    if (spec == NULL) spec = readSidecar(".gpus");
    if (spec == NULL) return NVML_ERROR_DRIVER_NOT_LOADED;
    parse(spec);
    free(spec);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    gpuCount = -1;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient resources";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires a reset";
    default: return "Unknown Error";
    }
}

static int valid(nvmlDevice_t device) {
    return gpuCount >= 0 && device >= gpus && device < gpus + gpuCount;
}

static nvmlReturn_t copyString(const char *value, char *buffer, unsigned int length) {
    if (buffer == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(buffer, value);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    return copyString("580.95.02", version, length);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount) {
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (deviceCount == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *deviceCount = (unsigned int)gpuCount;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (device == NULL || index >= (unsigned int)gpuCount) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &gpus[index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device) {
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (pciBusId == NULL || device == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < gpuCount; i++) {
        // NVML takes the bus id with an 8- or 4-digit domain, any case.
        const char *ours = gpus[i].busID, *theirs = pciBusId;
        if (strlen(theirs) == strlen(ours) + 4 && strncmp(theirs, "0000", 4) == 0) theirs += 4;
        if (strcasecmp(ours, theirs) == 0) {
            *device = &gpus[i];
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
    if (!valid(device) || pci == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    memset(pci, 0, sizeof *pci);
    snprintf(pci->busId, sizeof pci->busId, "0000%.15s", device->busID);
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%.15s", device->busID);
    pci->pciDeviceId = device->model->pciDeviceID;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    if (!valid(device)) return NVML_ERROR_INVALID_ARGUMENT;
    return copyString(device->model->name, name, length);
}

nvmlReturn_t nvmlDeviceGetHostVgpuMode(nvmlDevice_t device, nvmlHostVgpuMode_t *pHostVgpuMode) {
    if (!valid(device) || pHostVgpuMode == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *pHostVgpuMode = device->model->hostMode;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetVgpuHeterogeneousMode(nvmlDevice_t device, nvmlVgpuHeterogeneousMode_t *pHeterogeneousMode) {
    if (!valid(device) || pHeterogeneousMode == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (pHeterogeneousMode->version != nvmlVgpuHeterogeneousMode_v1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (!device->model->heterogeneousCapable) return NVML_ERROR_NOT_SUPPORTED;
    pHeterogeneousMode->mode = 0;
    return NVML_SUCCESS;
}

static nvmlReturn_t listTypes(nvmlDevice_t device, unsigned int *vgpuCount, nvmlVgpuTypeId_t *vgpuTypeIds, int creatableOnly) {
    if (!valid(device) || vgpuCount == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlVgpuTypeId_t ids[64];
    unsigned int count = 0;
    for (int i = 0; i < device->model->typeCount; i++) {
        const VgpuType *type = &device->model->types[i];
        if (creatableOnly) {
            int migBacked = type->profileID != NO_PROFILE;
            if (migBacked != device->migEnabled) continue;
            if (migBacked) {
                int hasInstance = 0;
                for (int j = 0; j < MAX_INSTANCES; j++) hasInstance |= device->instances[j].live && device->instances[j].profileID == type->profileID;
                if (!hasInstance) continue;
            }
        }
        ids[count++] = type->id;
    }
    if (*vgpuCount < count) {
        *vgpuCount = count;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    *vgpuCount = count;
    if (count > 0 && vgpuTypeIds == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    memcpy(vgpuTypeIds, ids, count * sizeof ids[0]);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetSupportedVgpus(nvmlDevice_t device, unsigned int *vgpuCount, nvmlVgpuTypeId_t *vgpuTypeIds) {
    return listTypes(device, vgpuCount, vgpuTypeIds, 0);
}

nvmlReturn_t nvmlDeviceGetCreatableVgpus(nvmlDevice_t device, unsigned int *vgpuCount, nvmlVgpuTypeId_t *vgpuTypeIds) {
    return listTypes(device, vgpuCount, vgpuTypeIds, 1);
}

static const VgpuType *typeWithID(nvmlVgpuTypeId_t id) {
    for (int m = 0; m < COUNT(models); m++) {
        for (int i = 0; i < models[m].typeCount; i++) {
            if (models[m].types[i].id == id) return &models[m].types[i];
        }
    }
    return NULL;
}

nvmlReturn_t nvmlVgpuTypeGetName(nvmlVgpuTypeId_t vgpuTypeId, char *vgpuTypeName, unsigned int *size) {
    const VgpuType *type = typeWithID(vgpuTypeId);
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (type == NULL || size == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t result = copyString(type->name, vgpuTypeName, *size);
    *size = (unsigned int)strlen(type->name) + 1;
    return result;
}

nvmlReturn_t nvmlVgpuTypeGetClass(nvmlVgpuTypeId_t vgpuTypeId, char *vgpuTypeClass, unsigned int *size) {
    const VgpuType *type = typeWithID(vgpuTypeId);
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (type == NULL || size == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t result = copyString(type->typeClass, vgpuTypeClass, *size);
    *size = (unsigned int)strlen(type->typeClass) + 1;
    return result;
}

nvmlReturn_t nvmlVgpuTypeGetFramebufferSize(nvmlVgpuTypeId_t vgpuTypeId, unsigned long long *fbSize) {
    const VgpuType *type = typeWithID(vgpuTypeId);
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (type == NULL || fbSize == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *fbSize = type->framebufferMB << 20;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlVgpuTypeGetMaxInstances(nvmlDevice_t device, nvmlVgpuTypeId_t vgpuTypeId, unsigned int *vgpuInstanceCount) {
    if (!valid(device) || vgpuInstanceCount == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < device->model->typeCount; i++) {
        if (device->model->types[i].id == vgpuTypeId) {
            *vgpuInstanceCount = device->model->types[i].maxInstances;
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t nvmlVgpuTypeGetGpuInstanceProfileId(nvmlVgpuTypeId_t vgpuTypeId, unsigned int *gpuInstanceProfileId) {
    const VgpuType *type = typeWithID(vgpuTypeId);
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (type == NULL || gpuInstanceProfileId == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *gpuInstanceProfileId = type->profileID;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode) {
    if (!valid(device) || currentMode == NULL || pendingMode == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->model->migCapable) return NVML_ERROR_NOT_SUPPORTED;
    *currentMode = device->migEnabled ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
    *pendingMode = device->migPending ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t *info) {
    if (!valid(device) || info == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (info->version != nvmlGpuInstanceProfileInfo_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (!device->model->migCapable || !device->migEnabled) return NVML_ERROR_NOT_SUPPORTED;
    for (int i = 0; i < device->model->profileCount; i++) {
        const Profile *p = &device->model->profiles[i];
        if (p->index != profile) continue;
        unsigned int version = info->version;
        memset(info, 0, sizeof *info);
        info->version = version;
        info->id = p->id;
        info->sliceCount = p->slices;
        info->instanceCount = p->instances;
        info->memorySizeMB = p->memoryMB;
        snprintf(info->name, sizeof info->name, "%s", p->name);
        return NVML_SUCCESS;
    }
    return NVML_ERROR_NOT_SUPPORTED;
}

nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t *gpuInstances, unsigned int *count) {
    if (!valid(device) || count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->model->migCapable || !device->migEnabled) return NVML_ERROR_NOT_SUPPORTED;
    unsigned int found = 0;
    for (int i = 0; i < MAX_INSTANCES; i++) {
        if (!device->instances[i].live || device->instances[i].profileID != profileId) continue;
        if (gpuInstances != NULL) gpuInstances[found] = &device->instances[i];
        found++;
    }
    *count = found;
    return NVML_SUCCESS;
}

// MIG mode: on a GPU marked ":reset" enabling takes effect after a GPU reset (pending), as on some Ampere
// hosts; disabling is refused while GPU instances exist.
nvmlReturn_t nvmlDeviceSetMigMode(nvmlDevice_t device, unsigned int mode, nvmlReturn_t *activationStatus) {
    if (!valid(device) || activationStatus == NULL || (mode != NVML_DEVICE_MIG_ENABLE && mode != NVML_DEVICE_MIG_DISABLE)) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (!device->model->migCapable) return NVML_ERROR_NOT_SUPPORTED;
    int enable = mode == NVML_DEVICE_MIG_ENABLE;
    if (!enable) {
        for (int i = 0; i < MAX_INSTANCES; i++) {
            if (device->instances[i].live) {
                *activationStatus = NVML_ERROR_IN_USE;
                return NVML_ERROR_IN_USE;
            }
        }
    }
    device->migPending = enable;
    if (enable && device->resetRequired && !device->migEnabled) {
        *activationStatus = NVML_ERROR_RESET_REQUIRED;
    } else {
        device->migEnabled = enable;
        *activationStatus = NVML_SUCCESS;
    }
    saveState();
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId, unsigned int *count) {
    if (!valid(device) || count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->model->migCapable || !device->migEnabled) return NVML_ERROR_NOT_SUPPORTED;
    const Profile *profile = profileWithID(device->model, profileId);
    if (profile == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    // As many as placing them one by one fits, on a scratch copy.
    struct nvmlDevice_st scratch = *device;
    unsigned int fits = 0;
    while (place(&scratch, profile, unusedID(&scratch), NULL) == NVML_SUCCESS) fits++;
    *count = fits;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceCreateGpuInstance(nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t *gpuInstance) {
    if (!valid(device) || gpuInstance == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->model->migCapable || !device->migEnabled) return NVML_ERROR_NOT_SUPPORTED;
    const Profile *profile = profileWithID(device->model, profileId);
    if (profile == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t result = place(device, profile, unusedID(device), gpuInstance);
    if (result == NVML_SUCCESS) saveState();
    return result;
}

static int validInstance(nvmlGpuInstance_t instance) {
    for (int i = 0; i < gpuCount; i++) {
        if (instance >= gpus[i].instances && instance < gpus[i].instances + MAX_INSTANCES) return instance->live;
    }
    return 0;
}

nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance) {
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (!validInstance(gpuInstance)) return NVML_ERROR_INVALID_ARGUMENT;
    gpuInstance->live = 0;
    saveState();
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t *gpuInstance) {
    if (!valid(device) || gpuInstance == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!device->model->migCapable || !device->migEnabled) return NVML_ERROR_NOT_SUPPORTED;
    for (int i = 0; i < MAX_INSTANCES; i++) {
        if (device->instances[i].live && device->instances[i].id == id) {
            *gpuInstance = &device->instances[i];
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info) {
    if (gpuCount < 0) return NVML_ERROR_UNINITIALIZED;
    if (!validInstance(gpuInstance) || info == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    info->device = gpuInstance->device;
    info->id = gpuInstance->id;
    info->profileId = gpuInstance->profileID;
    info->placement.start = gpuInstance->start;
    info->placement.size = gpuInstance->size;
    return NVML_SUCCESS;
}
