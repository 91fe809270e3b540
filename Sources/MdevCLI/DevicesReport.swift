import FoundationEssentials
import MdevModel
import MdevSysfs

/// `devices` as a table and as JSON.
enum DevicesReport {
    /// How a device is named for people and scripts: its UUID, or for a vGPU in NVIDIA's vendor-specific
    /// mode (no UUID) the virtual function's PCI address, which is what a VM is given.
    static func name(of device: HostDevice) -> String {
        device.interface == .nvidiaVendorSpecific ? device.parent : device.uuid.sysfsString
    }

    static func text(_ devices: [HostDevice]) -> String {
        var table = TextTable(["DEVICE", "TYPE", "PARENT", "CARD", "OURS", "IN USE"])
        for device in devices {
            table.add([
                name(of: device), device.typeLabel, device.parent,
                device.card == device.parent ? "-" : device.card, device.isOurs ? "yes" : "no",
                device.holders.isEmpty ? "-" : device.holders.map(\.description).joined(separator: ", "),
            ])
        }
        let free = devices.filter { !$0.isInUse }.count
        return table.rendered + "\n\n\(PlanRenderer.counted(devices.count, "device")), \(free) free"
    }

    struct Entry: Encodable {
        var device: String
        var interface: ParentInterface
        var type: String
        var typeName: String?
        var parent: String
        var card: String
        var pciID: String?
        var ours: Bool
        var inUse: Bool
        var holders: [DeviceHolder]
    }

    static func json(_ devices: [HostDevice]) throws -> String {
        let entries = devices.map { device in
            Entry(
                device: name(of: device), interface: device.interface, type: device.type, typeName: device.typeName, parent: device.parent,
                card: device.card, pciID: device.pciID, ours: device.isOurs, inUse: device.isInUse, holders: device.holders)
        }
        return String(decoding: try JSONFile.encode(entries), as: UTF8.self)
    }
}
