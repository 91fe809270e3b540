import CNVML
import MdevModel

/// Reads everything `mdev-reconciler nvml` shows, changing nothing: per GPU its host vGPU mode, MIG mode,
/// GPU-instance profiles with their instances, heterogeneous mode and vGPU types. A query that fails is
/// noted on its GPU and the rest goes on.
public enum NVMLProbe {
    public static func report(_ library: NVMLLibrary) throws(NVMLError) -> NVMLReport {
        let driverVersion = try? library.driverVersion()
        var gpus: [NVMLReport.GPU] = []
        for device in try library.devices() {
            gpus.append(gpu(device, library))
        }
        return NVMLReport(library: library.path, driverVersion: driverVersion, gpus: gpus.sorted { $0.address < $1.address })
    }

    /// What NVML says of the GPU at a PCI address (`0000:41:00.0`); nil when NVML does not know it.
    public static func gpu(atPCIAddress address: String, _ library: NVMLLibrary) -> NVMLReport.GPU? {
        guard let device = (try? library.knownDevice(atPCIAddress: address)) ?? nil else { return nil }
        return gpu(device, library)
    }

    static func gpu(_ device: NVMLLibrary.Device, _ library: NVMLLibrary) -> NVMLReport.GPU {
        var problems: [String] = []
        /// The value, or nil with the problem noted; "not supported" is an answer (nil), not a problem.
        func read<T>(_ body: () throws -> T) -> T? {
            do { return try body() } catch {
                if (error as? NVMLError)?.isNotSupported != true { problems.append("\(error)") }
                return nil
            }
        }
        let address = read { try library.pciAddress(of: device) } ?? "unknown"
        let name = read { try library.name(of: device) }
        let sriov = read { try library.hostVgpuModeIsSRIOV(device) }
        let mig = read { try library.migMode(device) }
        let heterogeneous = read { try library.heterogeneousVgpus(device) }
        var profiles: [NVMLReport.GPUInstanceProfile] = []
        if mig?.current == true {
            for index in 0..<UInt32(NVML_GPU_INSTANCE_PROFILE_COUNT) {
                guard let info = read({ try library.gpuInstanceProfile(device, index: index) }), let info else { continue }
                let name = withUnsafeBytes(of: info.name, NVMLLibrary.text(upToNUL:))
                let instances = read { try library.gpuInstances(device, profileID: info.id, capacity: Int(info.instanceCount)).count } ?? 0
                profiles.append(NVMLReport.GPUInstanceProfile(
                    id: Int(info.id), name: name, slices: Int(info.sliceCount), memoryMB: Int(info.memorySizeMB),
                    maxInstances: Int(info.instanceCount), instances: instances))
            }
        }
        let creatable = Set(read { try library.creatableVgpuTypes(device) } ?? [])
        let types = (read { try library.supportedVgpuTypes(device) } ?? []).map { type in
            NVMLReport.VGPUType(
                id: Int(type), name: read { try library.vgpuTypeName(type) },
                typeClass: read { try library.vgpuTypeClass(type) },
                framebufferMB: read { try library.vgpuTypeFramebufferBytes(type) }.map { Int($0 >> 20) },
                maxInstances: read { try library.vgpuTypeMaxInstances(device, type) },
                gpuInstanceProfile: read { try library.vgpuTypeGPUInstanceProfile(type) }.flatMap { $0.map(Int.init) },
                creatable: creatable.contains(type))
        }
        return NVMLReport.GPU(
            address: address, name: name, hostVgpuMode: sriov.map { $0 ? "sriov" : "non-sriov" },
            migMode: mig.map { NVMLReport.MIGMode(current: $0.current, pending: $0.pending) }, heterogeneousVgpus: heterogeneous,
            gpuInstanceProfiles: profiles.sorted { $0.id < $1.id }, vgpuTypes: types.sorted { $0.id < $1.id }, problems: problems)
    }
}
