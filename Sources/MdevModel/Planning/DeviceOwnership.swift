import FoundationEssentials

/// Recognises the devices this program created: their UUIDs are the ones ``HostKey`` derives for their
/// own parent and type, which also tells their slot. No state file is needed.
struct DeviceOwnership {
    /// The slot of each device of ours on the parent.
    private(set) var slotOf: [UUID: Int] = [:]

    init(parent: Parent, hostKey: HostKey) {
        for device in parent.devices {
            if let slot = hostKey.slot(of: device.uuid, parent: parent.name, type: device.type) {
                slotOf[device.uuid] = slot
            }
        }
    }

    func isOurs(_ device: MdevDevice) -> Bool { slotOf[device.uuid] != nil }
}
