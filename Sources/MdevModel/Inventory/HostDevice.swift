import FoundationEssentials

/// One device of the host, as `devices` lists it and the metrics count it: a mediated device, or in NVIDIA's
/// vendor-specific mode a virtual function configured with a vGPU type (which is the device VMs are given).
public struct HostDevice: Sendable, Hashable {
    /// The mdev parent, or in vendor-specific mode the virtual function itself (its PCI address).
    public var parent: String
    /// The physical card (the GPU of a virtual function; else the parent).
    public var card: String
    public var interface: ParentInterface
    /// The device's UUID (mdev); in vendor-specific mode a handle of this program's own, never shown.
    public var uuid: UUID
    /// The type's id (`nvidia-222`) and, when the parent names it, its name (`GRID T4-1B`).
    public var type: String
    public var typeName: String?
    /// The type's `device_api` (`vfio-pci`), when the parent gives it.
    public var deviceAPI: String?
    /// The parent's PCI `vendor:device` ids, when it is a PCI device (in vendor-specific mode: the function's).
    public var pciID: String?
    /// Whether this program made it (its UUID derives from the host key, or the vGPU record names it).
    public var isOurs: Bool
    /// Processes holding it open through VFIO.
    public var holders: [DeviceHolder]

    public var isInUse: Bool { !holders.isEmpty }

    /// The type for people: `nvidia-222 (GRID T4-1B)`, or the id alone when the parent names none.
    public var typeLabel: String {
        type + (typeName.map { " (\($0))" } ?? "")
    }

    /// Whether `reference` names the device's type: its id, its name, or its name as a config spells it
    /// (``MdevType/configName``).
    public func isOfType(_ reference: String) -> Bool {
        reference == type || reference == typeName || reference == typeName.map { $0.trimmingSpaces().replacingSpaces(with: "_") }
    }

    /// Every device of `inventory`, by parent then UUID; `hostKey` tells which are this program's.
    public static func list(_ inventory: Inventory, hostKey: HostKey) -> [HostDevice] {
        inventory.parents.flatMap { parent in
            let ownership = DeviceOwnership(parent: parent, hostKey: hostKey)
            return parent.devices.map { device in
                let type = parent.type(withID: device.type)
                return HostDevice(
                    parent: parent.name, card: parent.card, interface: parent.interface, uuid: device.uuid, type: device.type,
                    typeName: type?.name, deviceAPI: type?.deviceAPI, pciID: parent.pciID, isOurs: ownership.isOurs(device),
                    holders: device.holders)
            }
        }
    }
}
