import CNVML
import MdevModel
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A call into NVML that did not succeed: the function and NVML's own words for the result
/// (`nvmlErrorString`), or that the library lacks the function.
public struct NVMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var function: String
    /// The `nvmlReturn_t` value; nil when the library has no such function.
    public var code: UInt32?
    public var message: String

    public var description: String { "\(function): \(message)" }

    /// NVML_ERROR_NOT_SUPPORTED: the GPU (or its mode) has no such thing, which is an answer, not a fault.
    public var isNotSupported: Bool { code == NVML_ERROR_NOT_SUPPORTED.rawValue }
}

/// NVIDIA's management library, opened at run time (`dlopen`) and initialised: the one way into NVML.
/// Only the functions ``CNVML`` lists are resolved; one the driver's library lacks fails its own calls.
///
/// NVML is thread-safe (NVIDIA's documentation), and the function table never changes once resolved.
public final class NVMLLibrary: @unchecked Sendable {
    /// The library every NVIDIA vGPU host has: it comes with the driver.
    public static let defaultPath = "libnvidia-ml.so.1"
    /// The environment variable that points the program at another library. It exists for the tests (a
    /// fake NVML, `contrib/nvml-fake`); a host has no use for it.
    public static let overrideVariable = "MDEV_RECONCILER_NVML_LIBRARY"

    /// Why NVML cannot be used at all: no library (any host without NVIDIA's driver), or one that would not
    /// initialise.
    public struct Unavailable: Error, Sendable, Hashable, CustomStringConvertible {
        public var library: String
        public var reason: String
        public var description: String { "NVML is not available (\(library)): \(reason)" }
    }

    public let path: String
    private let functions: UnsafePointer<cnvml_functions>

    private var initialised = false

    private init(path: String, functions: UnsafePointer<cnvml_functions>) {
        self.path = path
        self.functions = functions
    }

    /// Ends this use of NVML (nvmlShutdown balances nvmlInit_v2); the library stays loaded.
    deinit {
        if initialised { _ = functions.pointee.shutdown?() }
        cnvml_release(functions)
    }

    /// Opens and initialises the library at `path`.
    public static func open(path: String = defaultPath) throws(Unavailable) -> NVMLLibrary {
        var error = [CChar](repeating: 0, count: 512)
        guard let table = cnvml_open(path, &error, UInt(error.count)) else {
            throw Unavailable(library: path, reason: error.withUnsafeBytes(Self.text(upToNUL:)))
        }
        let library = NVMLLibrary(path: path, functions: table)
        do {
            try library.check("nvmlInit_v2", table.pointee.initialize?())
            library.initialised = true
        } catch {
            throw Unavailable(library: path, reason: "\(error)")
        }
        return library
    }

    private static let opened = LockedValue<[String: (result: Result<NVMLLibrary, Unavailable>, at: ContinuousClock.Instant)]>([:])

    /// How long a library that could not be opened is not tried again: the driver may be installed or loaded
    /// after the daemon started (a driver upgrade, a late module load), and one attempt a minute costs nothing.
    public static let retryInterval: Duration = .seconds(60)

    /// The library at `path`, opened the first time it is asked for and kept for the process (nvmlInit
    /// takes a while on a real host); one that could not be opened is tried again after ``retryInterval``.
    public static func shared(path: String = configuredPath, now: ContinuousClock.Instant = .now) -> Result<NVMLLibrary, Unavailable> {
        opened.withLock { opened in
            if let known = opened[path] {
                if case .success = known.result { return known.result }
                if now < known.at.advanced(by: retryInterval) { return known.result }
            }
            let result = Result { () throws(Unavailable) in try open(path: path) }
            opened[path] = (result, now)
            return result
        }
    }

    /// Whether NVML reports the GPU at `address` in SR-IOV host vGPU mode; nil when NVML is not available
    /// or does not know the GPU.
    public static func isSRIOVMode(_ address: String, path: String = configuredPath) -> Bool? {
        guard case .success(let library) = shared(path: path) else { return nil }
        return try? library.hostVgpuModeIsSRIOV(try library.device(atPCIAddress: address))
    }

    /// The library ``overrideVariable`` names when it is set in this process's environment, else ``defaultPath``.
    public static var configuredPath: String {
        guard let value = getenv(overrideVariable), value.pointee != 0 else { return defaultPath }
        return String(cString: value)
    }

    // MARK: - Calls

    /// A GPU as NVML hands it out; valid while the library is open (for the whole process).
    public struct Device: @unchecked Sendable {
        fileprivate let handle: nvmlDevice_t
    }

    public func driverVersion() throws(NVMLError) -> String {
        try string("nvmlSystemGetDriverVersion", capacity: Int(NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE)) { buffer, length in
            functions.pointee.systemGetDriverVersion?(buffer, length)
        }
    }

    public func devices() throws(NVMLError) -> [Device] {
        var count: UInt32 = 0
        try check("nvmlDeviceGetCount_v2", functions.pointee.deviceGetCount?(&count))
        var devices: [Device] = []
        for index in 0..<count {
            var handle: nvmlDevice_t?
            try check("nvmlDeviceGetHandleByIndex_v2", functions.pointee.deviceGetHandleByIndex?(index, &handle))
            if let handle { devices.append(Device(handle: handle)) }
        }
        return devices
    }

    /// The GPU at a PCI address as sysfs names it (`0000:41:00.0`).
    public func device(atPCIAddress address: String) throws(NVMLError) -> Device {
        var handle: nvmlDevice_t?
        try check("nvmlDeviceGetHandleByPciBusId_v2", functions.pointee.deviceGetHandleByPciBusId?(address, &handle))
        guard let handle else { throw NVMLError(function: "nvmlDeviceGetHandleByPciBusId_v2", code: nil, message: "no handle") }
        return Device(handle: handle)
    }

    /// The GPU at a PCI address, or nil when NVML does not know it (NVML_ERROR_NOT_FOUND, an answer, not a fault).
    public func knownDevice(atPCIAddress address: String) throws(NVMLError) -> Device? {
        do {
            return try device(atPCIAddress: address)
        } catch {
            if error.code == NVML_ERROR_NOT_FOUND.rawValue { return nil }
            throw error
        }
    }

    /// The GPU's PCI address as sysfs names it: NVML's bus id (`00000000:41:00.0`) with a 4-digit domain, lower case.
    public func pciAddress(of device: Device) throws(NVMLError) -> String {
        var info = nvmlPciInfo_t()
        try check("nvmlDeviceGetPciInfo_v3", functions.pointee.deviceGetPciInfo?(device.handle, &info))
        let busID = withUnsafeBytes(of: info.busId, Self.text(upToNUL:)).lowercased()
        guard let colon = busID.firstIndex(of: ":") else { return busID }
        let domain = busID[..<colon]
        return String(domain.suffix(4)) + busID[colon...]
    }

    public func name(of device: Device) throws(NVMLError) -> String {
        try string("nvmlDeviceGetName", capacity: Int(NVML_DEVICE_NAME_V2_BUFFER_SIZE)) { buffer, length in
            functions.pointee.deviceGetName?(device.handle, buffer, length)
        }
    }

    /// Whether the GPU's vGPUs live on SR-IOV virtual functions.
    public func hostVgpuModeIsSRIOV(_ device: Device) throws(NVMLError) -> Bool {
        var mode = nvmlHostVgpuMode_t(0)
        try check("nvmlDeviceGetHostVgpuMode", functions.pointee.deviceGetHostVgpuMode?(device.handle, &mode))
        return mode == NVML_HOST_VGPU_MODE_SRIOV
    }

    public func heterogeneousVgpus(_ device: Device) throws(NVMLError) -> Bool {
        var mode = nvmlVgpuHeterogeneousMode_t()
        mode.version = cnvml_vgpu_heterogeneous_mode_v1_version()
        try check("nvmlDeviceGetVgpuHeterogeneousMode", functions.pointee.deviceGetVgpuHeterogeneousMode?(device.handle, &mode))
        return mode.mode != 0
    }

    /// MIG mode now and pending (after a GPU reset).
    public func migMode(_ device: Device) throws(NVMLError) -> (current: Bool, pending: Bool) {
        var current: UInt32 = 0, pending: UInt32 = 0
        try check("nvmlDeviceGetMigMode", functions.pointee.deviceGetMigMode?(device.handle, &current, &pending))
        return (current == NVML_DEVICE_MIG_ENABLE, pending == NVML_DEVICE_MIG_ENABLE)
    }

    /// A GPU-instance profile by its index (`NVML_GPU_INSTANCE_PROFILE_*`), or nil when the GPU has none there.
    public func gpuInstanceProfile(_ device: Device, index: UInt32) throws(NVMLError) -> nvmlGpuInstanceProfileInfo_v2_t? {
        var info = nvmlGpuInstanceProfileInfo_v2_t()
        info.version = cnvml_gpu_instance_profile_info_v2_version()
        let result = functions.pointee.deviceGetGpuInstanceProfileInfoV?(device.handle, index, &info)
        if result == NVML_ERROR_NOT_SUPPORTED || result == NVML_ERROR_INVALID_ARGUMENT { return nil }
        try check("nvmlDeviceGetGpuInstanceProfileInfoV", result)
        return info
    }

    /// A MIG GPU instance: its id (unique on its GPU), the profile it was created with, and where it sits.
    public struct GPUInstance: Sendable, Hashable {
        public var id: UInt32
        public var profileID: UInt32
        public var placementStart: UInt32
        public var placementSize: UInt32
    }

    /// The GPU instances of a profile that exist (room for `capacity` of them is given to NVML).
    public func gpuInstances(_ device: Device, profileID: UInt32, capacity: Int) throws(NVMLError) -> [GPUInstance] {
        var handles = [nvmlGpuInstance_t?](repeating: nil, count: max(capacity, 1))
        var count: UInt32 = 0
        try check("nvmlDeviceGetGpuInstances", functions.pointee.deviceGetGpuInstances?(device.handle, profileID, &handles, &count))
        var instances: [GPUInstance] = []
        for handle in handles.prefix(Int(count)) {
            guard let handle else { continue }
            instances.append(try instance(handle))
        }
        return instances
    }

    /// Every GPU instance on the GPU, of every profile it has (while MIG mode is on).
    public func gpuInstances(_ device: Device) throws(NVMLError) -> [GPUInstance] {
        var all: [GPUInstance] = []
        for index in 0..<UInt32(NVML_GPU_INSTANCE_PROFILE_COUNT) {
            guard let profile = try gpuInstanceProfile(device, index: index) else { continue }
            all += try gpuInstances(device, profileID: profile.id, capacity: Int(profile.instanceCount))
        }
        return all
    }

    private func instance(_ handle: nvmlGpuInstance_t) throws(NVMLError) -> GPUInstance {
        var info = nvmlGpuInstanceInfo_t()
        try check("nvmlGpuInstanceGetInfo", functions.pointee.gpuInstanceGetInfo?(handle, &info))
        return GPUInstance(id: info.id, profileID: info.profileId, placementStart: info.placement.start, placementSize: info.placement.size)
    }

    /// How many more GPU instances of the profile fit as the GPU is now.
    public func gpuInstanceRemainingCapacity(_ device: Device, profileID: UInt32) throws(NVMLError) -> Int {
        var count: UInt32 = 0
        try check("nvmlDeviceGetGpuInstanceRemainingCapacity", functions.pointee.deviceGetGpuInstanceRemainingCapacity?(device.handle, profileID, &count))
        return Int(count)
    }

    // MARK: - Changes

    /// Asks for MIG mode on or off. Returns nil when it is in effect now, else why not yet (NVML's activation
    /// status: `NVML_ERROR_RESET_REQUIRED` on GPUs that need a reset first, which this program never does).
    public func setMIGMode(_ device: Device, enabled: Bool) throws(NVMLError) -> NVMLError? {
        var activation = NVML_SUCCESS
        let mode = enabled ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE
        try check("nvmlDeviceSetMigMode", functions.pointee.deviceSetMigMode?(device.handle, UInt32(mode), &activation))
        guard activation != NVML_SUCCESS else { return nil }
        return error("nvmlDeviceSetMigMode", activation)
    }

    /// Creates a GPU instance of the profile where NVML places it.
    public func createGPUInstance(_ device: Device, profileID: UInt32) throws(NVMLError) -> GPUInstance {
        var handle: nvmlGpuInstance_t?
        try check("nvmlDeviceCreateGpuInstance", functions.pointee.deviceCreateGpuInstance?(device.handle, profileID, &handle))
        guard let handle else { throw NVMLError(function: "nvmlDeviceCreateGpuInstance", code: nil, message: "no handle") }
        return try instance(handle)
    }

    /// Destroys the GPU instance with this id; one that no longer exists is not an error.
    public func destroyGPUInstance(_ device: Device, id: UInt32) throws(NVMLError) {
        var handle: nvmlGpuInstance_t?
        let found = functions.pointee.deviceGetGpuInstanceById?(device.handle, id, &handle)
        if found == NVML_ERROR_NOT_FOUND { return }
        try check("nvmlDeviceGetGpuInstanceById", found)
        try check("nvmlGpuInstanceDestroy", functions.pointee.gpuInstanceDestroy?(handle))
    }

    public func supportedVgpuTypes(_ device: Device) throws(NVMLError) -> [UInt32] {
        try typeList("nvmlDeviceGetSupportedVgpus") { count, ids in functions.pointee.deviceGetSupportedVgpus?(device.handle, count, ids) }
    }

    public func creatableVgpuTypes(_ device: Device) throws(NVMLError) -> [UInt32] {
        try typeList("nvmlDeviceGetCreatableVgpus") { count, ids in functions.pointee.deviceGetCreatableVgpus?(device.handle, count, ids) }
    }

    public func vgpuTypeName(_ type: UInt32) throws(NVMLError) -> String {
        try sizedString("nvmlVgpuTypeGetName") { buffer, size in functions.pointee.vgpuTypeGetName?(type, buffer, size) }
    }

    public func vgpuTypeClass(_ type: UInt32) throws(NVMLError) -> String {
        try sizedString("nvmlVgpuTypeGetClass") { buffer, size in functions.pointee.vgpuTypeGetClass?(type, buffer, size) }
    }

    public func vgpuTypeFramebufferBytes(_ type: UInt32) throws(NVMLError) -> UInt64 {
        var size: UInt64 = 0
        try check("nvmlVgpuTypeGetFramebufferSize", functions.pointee.vgpuTypeGetFramebufferSize?(type, &size))
        return size
    }

    public func vgpuTypeMaxInstances(_ device: Device, _ type: UInt32) throws(NVMLError) -> Int {
        var count: UInt32 = 0
        try check("nvmlVgpuTypeGetMaxInstances", functions.pointee.vgpuTypeGetMaxInstances?(device.handle, type, &count))
        return Int(count)
    }

    /// The GPU-instance profile id a MIG-backed type needs; nil for a time-sliced type.
    public func vgpuTypeGPUInstanceProfile(_ type: UInt32) throws(NVMLError) -> UInt32? {
        var profile: UInt32 = 0
        try check("nvmlVgpuTypeGetGpuInstanceProfileId", functions.pointee.vgpuTypeGetGpuInstanceProfileId?(type, &profile))
        return profile == CNVML_NO_GPU_INSTANCE_PROFILE ? nil : profile
    }

    // MARK: - Plumbing

    /// Turns a result into an error: nil (the library lacks the function) or anything but NVML_SUCCESS.
    private func check(_ function: String, _ result: nvmlReturn_t?) throws(NVMLError) {
        guard let result else { throw NVMLError(function: function, code: nil, message: "this driver's library has no \(function)") }
        guard result != NVML_SUCCESS else { return }
        throw error(function, result)
    }

    private func error(_ function: String, _ result: nvmlReturn_t) -> NVMLError {
        let message = functions.pointee.errorString?(result).map { String(cString: $0) } ?? "error \(result.rawValue)"
        return NVMLError(function: function, code: result.rawValue, message: message)
    }

    private func string(
        _ function: String, capacity: Int, _ call: (UnsafeMutablePointer<CChar>, UInt32) -> nvmlReturn_t?
    ) throws(NVMLError) -> String {
        var buffer = [CChar](repeating: 0, count: capacity)
        let result = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, UInt32(capacity)) }
        try check(function, result)
        return buffer.withUnsafeBytes(Self.text(upToNUL:))
    }

    /// A string NVML writes with an in-out size (the vGPU type calls).
    private func sizedString(_ function: String, _ call: (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<UInt32>) -> nvmlReturn_t?) throws(NVMLError) -> String {
        try string(function, capacity: Int(NVML_DEVICE_NAME_V2_BUFFER_SIZE)) { buffer, length in
            var size = length
            return call(buffer, &size)
        }
    }

    /// The text of a C string in a fixed buffer (a char array of an NVML struct, or one NVML filled), up to its
    /// NUL, control characters escaped.
    static func text(upToNUL bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).escapingControlCharacters
    }

    /// A list of vGPU type ids: asked for its size first, then filled.
    private func typeList(
        _ function: String, _ call: (UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<nvmlVgpuTypeId_t>?) -> nvmlReturn_t?
    ) throws(NVMLError) -> [UInt32] {
        var count: UInt32 = 0
        let first = call(&count, nil)
        if first == NVML_SUCCESS { return [] }
        guard first == NVML_ERROR_INSUFFICIENT_SIZE else {
            try check(function, first)
            return []
        }
        var ids = [nvmlVgpuTypeId_t](repeating: 0, count: Int(count))
        let result = ids.withUnsafeMutableBufferPointer { call(&count, $0.baseAddress) }
        try check(function, result)
        return Array(ids.prefix(Int(count)))
    }
}
