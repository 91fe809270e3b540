import Foundation

/// Recognises the devices this program created: their UUIDs are the derived ones of ``HostKey``.
///
/// No state file is needed: a device is ours when its UUID is the derived UUID of its own parent, its
/// own type and a slot below the parent's slot bound.
struct DeviceOwnership {
    /// The slot of each device of ours on the parent.
    private(set) var slotOf: [UUID: Int] = [:]

    init(parent: Parent, hostKey: HostKey) {
        let bound = Self.slotBound(of: parent)
        for (typeID, devices) in Dictionary(grouping: parent.devices, by: \.type) {
            let uuids = Set(devices.map(\.uuid))
            for slot in 0..<bound {
                let uuid = hostKey.deviceUUID(parent: parent.name, type: typeID, slot: slot)
                if uuids.contains(uuid) { slotOf[uuid] = slot }
            }
        }
    }

    /// Slots are handed out lowest first, and a parent never holds more devices of one type than its
    /// devices plus free instances (or the driver's `max_instance`), so every slot in use lies below this.
    static func slotBound(of parent: Parent) -> Int {
        let available = parent.types.map(\.availableInstances).max() ?? 0
        let maximum = parent.types.compactMap(\.maxInstances).max() ?? 0
        return parent.devices.count + max(available, maximum) + 1
    }

    func isOurs(_ device: MdevDevice) -> Bool { slotOf[device.uuid] != nil }
}
