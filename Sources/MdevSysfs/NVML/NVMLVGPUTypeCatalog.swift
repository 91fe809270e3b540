/// The vGPU types NVML states for each GPU (``VGPUTypeCatalog``). The library is opened the first time a GPU
/// is asked for (on a host with no vendor-mode GPU, never); a host without it has no catalog, and sysfs
/// alone is read as before. A GPU's types are read once (they are fixed while the driver is loaded); its
/// MIG mode at every reading.
public final class NVMLVGPUTypeCatalog: VGPUTypeCatalog {
    public let path: String
    private let known = LockedValue<[String: [DriverVGPUTypes.VGPUType]]>([:])

    public init(path: String = NVMLLibrary.configuredPath) {
        self.path = path
    }

    public func types(ofGPU address: String) throws -> DriverVGPUTypes? {
        guard case .success(let library) = NVMLLibrary.shared(path: path) else { return nil }
        guard let device = try library.knownDevice(atPCIAddress: address) else { return nil }
        let types: [DriverVGPUTypes.VGPUType]
        if let cached = known.withLock({ $0[address] }) {
            types = cached
        } else {
            types = try Self.readTypes(device, library)
            known.withLock { $0[address] = types }
        }
        var migEnabled = false
        switch Result(catching: { () throws(NVMLError) in try library.migMode(device) }) {
        case .success(let mode): migEnabled = mode.current
        case .failure(let error) where error.isNotSupported: break
        case .failure(let error): throw error
        }
        return DriverVGPUTypes(types: types, migEnabled: migEnabled)
    }

    private static func readTypes(_ device: NVMLLibrary.Device, _ library: NVMLLibrary) throws(NVMLError) -> [DriverVGPUTypes.VGPUType] {
        var types: [DriverVGPUTypes.VGPUType] = []
        for type in try library.supportedVgpuTypes(device) {
            types.append(DriverVGPUTypes.VGPUType(
                number: Int(type), name: try library.vgpuTypeName(type), maxInstances: try library.vgpuTypeMaxInstances(device, type),
                gpuInstanceProfile: try library.vgpuTypeGPUInstanceProfile(type).map(Int.init)))
        }
        return types
    }
}
