import Foundation
import MdevModel
import MdevSysfs
import SystemPackage

/// An in-process stand-in for NVIDIA's vendor-specific framework (vGPU 17+, kernel 6.8+), behind the same
/// file protocol as the real sysfs, enforcing the driver's rules as captured on real hosts:
/// - one vGPU size per GPU (no mixed-size mode): once a function has a type, the other free functions list
///   only the types of that framebuffer size (every series), and only the header once the GPU is full;
///   a configured function lists nothing;
/// - writing a type number needs the function to be free and the type listed on it, else EINVAL (the
///   value stays `0`); a configured function must be cleared (`0`) before another number is written (EBUSY);
/// - clearing a function a VM holds is recorded in ``State/violations`` and refused with EPERM, as NVIDIA's
///   driver refuses it while QEMU holds the function; clearing right
///   after a VM let go fails with EPERM as often as ``release(_:refusingClears:)`` says;
/// - writes emit no event;
/// - MIG-backed types (``GPU/gpuInstanceProfiles``): while the GPU's MIG mode is on (``MIGState``, from the
///   fake NVML) a free function lists the MIG-backed types whose profile has a GPU instance no vGPU takes
///   yet, and no time-sliced type; while it is off, no MIG-backed type. Writing a MIG-backed type with no
///   free instance of its profile fails with EIO, as NVIDIA's driver does.
public final class SimulatedVendorGPUs: VendorVGPUFiles, Sendable {
    /// A GPU's MIG mode and GPU instances, as NVML has them.
    public struct MIGState: Sendable, Hashable {
        public var enabled: Bool
        /// How many GPU instances of each profile id exist.
        public var instances: [Int: Int]

        public init(enabled: Bool, instances: [Int: Int] = [:]) {
            self.enabled = enabled
            self.instances = instances
        }
    }

    public struct GPU: Sendable, Hashable {
        /// The physical function's address.
        public var name: String
        public var pciID: String
        /// Every type the model offers, in the order the driver lists them.
        public var catalog: [VGPUTypeListing]
        /// The virtual functions' addresses.
        public var functions: [String]
        /// Lists as in NVIDIA's user guide (`NVIDIA A40-1Q 557`) rather than the driver's table.
        public var guideLayout: Bool
        /// The GPU-instance profile of each MIG-backed type, by type number.
        public var gpuInstanceProfiles: [Int: Int]

        public init(
            name: String, pciID: String, catalog: [VGPUTypeListing], functions: [String], guideLayout: Bool = false,
            gpuInstanceProfiles: [Int: Int] = [:]
        ) {
            self.gpuInstanceProfiles = gpuInstanceProfiles
            self.name = name
            self.pciID = pciID
            self.catalog = catalog
            self.functions = functions
            self.guideLayout = guideLayout
        }

        /// The framebuffer, in GB: the largest profile's.
        public var framebufferGB: Int { catalog.compactMap { VGPUTypeListing.framebufferGB(ofTypeName: $0.name) }.max() ?? 0 }
    }

    public struct State: Sendable {
        public var gpus: [GPU]
        /// The type number of each configured function.
        public var current: [String: Int] = [:]
        public var holders: [String: [DeviceHolder]] = [:]
        /// EPERMs the next clears of a function fail with.
        public var refusedClears: [String: Int] = [:]
        /// Errnos the next type writes (non-zero) to a function fail with, consumed in order.
        public var writeFaults: [String: [Errno]] = [:]
        public var violations: [String] = []
        public var writes: [String] = []
        public var listReads = 0
    }

    public let state: LockedValue<State>
    /// Each GPU's MIG mode and instances, by the physical function's address (``FakeNVML/migState(of:gpu:)``);
    /// nil: MIG mode off.
    public let mig: @Sendable (String) -> MIGState?

    public init(gpus: [GPU], mig: @escaping @Sendable (String) -> MIGState? = { _ in nil }) {
        state = LockedValue(State(gpus: gpus))
        self.mig = mig
    }

    // MARK: Test controls

    /// Gives a function a type as another program (or an earlier run) would.
    public func configure(_ function: String, number: Int, holders: [DeviceHolder] = []) {
        state.withLock {
            $0.current[function] = number
            $0.holders[function] = holders.isEmpty ? nil : holders
        }
    }

    public func setHolders(_ holders: [DeviceHolder], of function: String) {
        state.withLock { $0.holders[function] = holders.isEmpty ? nil : holders }
    }

    /// A VM let go of the function; the driver refuses the next `refusingClears` clears with EPERM.
    public func release(_ function: String, refusingClears: Int) {
        state.withLock {
            $0.holders[function] = nil
            $0.refusedClears[function] = refusingClears
        }
    }

    /// Adds a GPU whose functions were just enabled (they appear without types).
    public func addGPU(_ gpu: GPU) {
        state.withLock { $0.gpus.append(gpu) }
    }

    /// Removes a GPU's functions (the driver unloaded, or a reboot): their types go with them.
    public func removeGPU(named name: String) {
        state.withLock { state in
            guard let gpu = state.gpus.first(where: { $0.name == name }) else { return }
            state.gpus.removeAll { $0.name == name }
            for function in gpu.functions { state.current[function] = nil }
        }
    }

    /// `function: type` for each configured function, sorted.
    public var layout: [String] {
        state.withLock { state in state.current.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } }
    }

    // MARK: VendorVGPUFiles

    public func functions() throws(SysfsError) -> [VendorFunction] {
        state.withLock { state in
            state.gpus.flatMap { gpu in gpu.functions.map { Self.function($0, of: gpu) } }
        }
    }

    public func function(named name: String) -> VendorFunction? {
        state.withLock { state in
            state.gpus.first { $0.functions.contains(name) }.map { Self.function(name, of: $0) }
        }
    }

    private static func function(_ name: String, of gpu: GPU) -> VendorFunction {
        VendorFunction(name: name, gpu: gpu.name, driver: "nvidia", pciID: gpu.pciID, directory: "/sys/bus/pci/devices/\(name)")
    }

    public func creatableTypes(of function: VendorFunction) throws -> String {
        try creatableTypes(of: function.name)
    }

    public func currentType(of function: VendorFunction) throws -> String {
        try currentType(of: function.name)
    }

    public func setCurrentType(_ text: String, of function: VendorFunction) throws {
        try setCurrentType(text, of: function.name)
    }

    public func holders(of functions: [VendorFunction]) throws -> [String: [DeviceHolder]] {
        let names = Set(functions.map(\.name))
        return state.withLock { state in state.holders.filter { names.contains($0.key) } }
    }

    // MARK: The same by function name, for tests

    public func creatableTypes(of function: String) throws -> String {
        try state.withLock { state in
            state.listReads += 1
            let gpu = try Self.gpu(of: function, in: state)
            let listed = Self.creatable(on: function, of: gpu, in: state, mig: mig(gpu.name))
            if gpu.guideLayout { return listed.map { "\($0.name) \($0.number)\n" }.joined() }
            return "ID    : vGPU Name\n" + listed.map { "\(String($0.number).padding(toLength: 5, withPad: " ", startingAt: 0)) : \($0.name)\n" }.joined()
        }
    }

    public func currentType(of function: String) throws -> String {
        try state.withLock { state in
            _ = try Self.gpu(of: function, in: state)
            return "\(state.current[function] ?? 0)\n"
        }
    }

    public func setCurrentType(_ text: String, of function: String) throws {
        try state.withLock { state in
            let gpu = try Self.gpu(of: function, in: state)
            let path = "/sys/bus/pci/devices/\(function)/nvidia/current_vgpu_type"
            state.writes.append("\(function)=\(text)")
            guard let number = Int(text.trimmingSpaces()), number >= 0 else { throw SysfsError(.write, path, .invalidArgument) }
            if number == 0 {
                if let holders = state.holders[function] {
                    state.violations.append("cleared \(function) while held by \(holders)")
                    throw SysfsError(.write, path, .notPermitted)
                }
                if let refused = state.refusedClears[function], refused > 0 {
                    state.refusedClears[function] = refused - 1
                    throw SysfsError(.write, path, .notPermitted)
                }
                state.current[function] = nil
                return
            }
            if let fault = state.writeFaults[function]?.first {
                state.writeFaults[function]!.removeFirst()
                throw SysfsError(.write, path, fault)
            }
            if state.current[function] != nil { throw SysfsError(.write, path, .resourceBusy) }
            guard Self.creatable(on: function, of: gpu, in: state, mig: mig(gpu.name)).contains(where: { $0.number == number }) else {
                throw SysfsError(.write, path, gpu.gpuInstanceProfiles[number] != nil ? .ioError : .invalidArgument)
            }
            state.current[function] = number
        }
    }

    // MARK: Rules

    static func gpu(of function: String, in state: State) throws -> GPU {
        guard let gpu = state.gpus.first(where: { $0.functions.contains(function) }) else {
            throw SysfsError(.open, "/sys/bus/pci/devices/\(function)/nvidia", .noSuchFileOrDirectory)
        }
        return gpu
    }

    static func creatable(on function: String, of gpu: GPU, in state: State, mig: MIGState?) -> [VGPUTypeListing] {
        if state.current[function] != nil { return [] }
        if let mig, mig.enabled {
            var taken: [Int: Int] = [:]
            for configured in gpu.functions {
                if let number = state.current[configured], let profile = gpu.gpuInstanceProfiles[number] { taken[profile, default: 0] += 1 }
            }
            return gpu.catalog.filter { listing in
                guard let profile = gpu.gpuInstanceProfiles[listing.number] else { return false }
                return (mig.instances[profile] ?? 0) > (taken[profile] ?? 0)
            }
        }
        let size = { (number: Int) in
            gpu.catalog.first { $0.number == number }.flatMap { VGPUTypeListing.framebufferGB(ofTypeName: $0.name) } ?? 0
        }
        let used = gpu.functions.compactMap { state.current[$0] }
        let free = gpu.framebufferGB - used.reduce(0) { $0 + size($1) }
        return gpu.catalog.filter { listing in
            guard gpu.gpuInstanceProfiles[listing.number] == nil,
                let fb = VGPUTypeListing.framebufferGB(ofTypeName: listing.name), fb <= free
            else { return false }
            return used.first.map { size($0) == fb } ?? true
        }
    }
}
