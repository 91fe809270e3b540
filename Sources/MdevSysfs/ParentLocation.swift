import FoundationEssentials

/// Where one parent lives, as the reading that found it discovered it. Writes are addressed by it, never by a
/// name looked up in state an earlier reading left behind: it is the only source of the paths written to.
public enum ParentLocation: Sendable, Hashable {
    /// A parent of the mdev framework.
    case mdev(MdevParentLocation)
    /// A virtual function in NVIDIA's vendor-specific mode.
    case vendorFunction(VendorFunctionLocation)

    /// The parent's name.
    public var name: String {
        switch self {
        case .mdev(let location): location.name
        case .vendorFunction(let location): location.function.name
        }
    }
}

/// Where an mdev parent's parts live.
public struct MdevParentLocation: Sendable, Hashable {
    /// The entry's name under `class/mdev_bus`.
    public var name: String
    /// The parent's resolved device directory.
    public var directory: String
    /// Directory of each type, `<parent>/mdev_supported_types/<type>`, by type id.
    public var types: [String: String]
    /// Directory of each device, `<parent>/<uuid>`.
    public var devices: [UUID: String]

    public init(name: String, directory: String, types: [String: String] = [:], devices: [UUID: String] = [:]) {
        self.name = name
        self.directory = directory
        self.types = types
        self.devices = devices
    }
}

/// A virtual function in vendor-specific mode, and the handle of the vGPU it had when read.
public struct VendorFunctionLocation: Sendable, Hashable {
    public var function: VendorFunction
    /// The handle of its vGPU, nil when it had none.
    public var handle: UUID?

    public init(function: VendorFunction, handle: UUID?) {
        self.function = function
        self.handle = handle
    }
}
