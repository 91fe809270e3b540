import FoundationEssentials

/// A per-host secret-free key that makes derived device UUIDs unique to this host.
///
/// Derived the way systemd recommends for application-specific ids
/// (`sd_id128_get_machine_app_specific`): HMAC-SHA256 keyed with the machine id over this program's
/// application id, truncated to 128 bits and shaped as a version 4 UUID. The machine id itself never
/// appears in anything this program writes or prints.
public struct HostKey: Sendable, Hashable, CustomStringConvertible {
    /// This program's application id, fixed forever: changing it would change every derived UUID.
    public static let applicationID = UUID(uuidString: "5d0c7a3e-2b61-4f0e-9a47-8c1e6f2d9b34")!

    /// How the key was obtained.
    public enum Origin: String, Sendable, Codable {
        /// From `/etc/machine-id`.
        case machineID = "machine-id"
        /// From the node name, because no usable machine id exists.
        case nodeName = "node-name"
    }

    /// The key, used as the namespace of every derived device UUID.
    public let namespace: UUID
    /// Where the key came from.
    public let origin: Origin

    /// The key for a host with this machine id (the 128-bit value of `/etc/machine-id`).
    public init(machineID: UUID) {
        var bytes = SHA256.hmac(key: machineID.bytes, message: Self.applicationID.bytes).prefix(16).map { $0 }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        namespace = UUID(bytes: bytes)
        origin = .machineID
    }

    /// The fallback key for a host without a machine id: a UUIDv5 of the node name under the application id.
    ///
    /// Stable as long as the node name is; two hosts with the same name share it.
    public init(nodeName: String) {
        namespace = UUID.nameBased(namespace: Self.applicationID, name: "node-name:" + nodeName)
        origin = .nodeName
    }

    public var description: String { "\(namespace.uuidString.lowercased()) (from \(origin.rawValue))" }

    /// How many slots the derived UUIDs of one type on one parent address: the last two bytes.
    public static let slotCount = 65536

    /// The UUID of the device in `slot` of `type` on `parent`: always the same for the same inputs.
    ///
    /// A name-based UUID in the version 5 layout: the first 14 bytes come from SHA-1 over the host key and
    /// `mdev:<parent>/<type>`, the last 2 bytes are the slot. So a device's slot is read back from its UUID
    /// (``slot(of:parent:type:)``), with no limit on how many slots were ever used.
    public func deviceUUID(parent: String, type: String, slot: Int) -> UUID {
        precondition((0..<Self.slotCount).contains(slot), "a slot fits in 16 bits")
        var bytes = UUID.nameBased(namespace: namespace, name: "mdev:\(parent)/\(type)").bytes
        bytes[14] = UInt8(slot >> 8)
        bytes[15] = UInt8(slot & 0xFF)
        return UUID(bytes: bytes)
    }

    /// The slot of `uuid` when it is the UUID this key derives for a device of `type` on `parent`; nil for
    /// any other UUID (a device this program did not create there).
    public func slot(of uuid: UUID, parent: String, type: String) -> Int? {
        let bytes = uuid.bytes
        let prefix = UUID.nameBased(namespace: namespace, name: "mdev:\(parent)/\(type)").bytes
        guard bytes.prefix(14) == prefix.prefix(14) else { return nil }
        return Int(bytes[14]) << 8 | Int(bytes[15])
    }
}

extension UUID {
    /// The 16 bytes of this UUID in network order.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }

    /// The UUID made of these 16 bytes.
    init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self = bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    /// A name-based version 5 UUID (RFC 9562, section 5.5).
    public static func nameBased(namespace: UUID, name: String) -> UUID {
        var bytes = Array(SHA1.hash(namespace.bytes + Array(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(bytes: bytes)
    }

    /// The lower-case text form the kernel prints in sysfs.
    public var sysfsString: String { uuidString.lowercased() }
}
