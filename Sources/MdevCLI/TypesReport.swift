import FoundationEssentials
import MdevModel

/// What `types` shows: every parent with its types, their names, free instances, parsed descriptions,
/// and its devices.
struct TypesReport: Encodable {
    struct ParentEntry: Encodable {
        var parent: String
        var card: String
        var driver: String?
        var pciID: String?
        var model: String?
        /// `mdev` or `nvidia-vendor-specific`.
        var interface: ParentInterface
        /// What NVML says of the card (an NVIDIA GPU in vendor-specific mode, where the library is there).
        var nvml: NVMLReport.GPU?
        var types: [TypeEntry]
        var devices: [DeviceEntry]
    }

    struct TypeEntry: Encodable {
        var id: String
        var name: String?
        /// The spelling a config entry may use instead of the id.
        var configName: String?
        var availableInstances: Int
        var deviceAPI: String?
        var description: String?
        var descriptionFields: [String: String]
        var maxInstances: Int?
        /// Where `maxInstances` comes from when no description states it: `nvml` or `framebuffer`.
        var capacitySource: MdevType.CapacitySource?
        /// The MIG GPU-instance profile a MIG-backed type needs.
        var gpuInstanceProfile: Int?
    }

    struct DeviceEntry: Encodable {
        /// Nil for a vGPU in NVIDIA's vendor-specific mode, which has no UUID.
        var uuid: String?
        var type: String
        var inUse: Bool
        var holders: [DeviceHolder]
    }

    var parents: [ParentEntry]

    /// - Parameter nvml: what NVML says, by card.
    init(_ inventory: Inventory, nvml: [String: NVMLReport.GPU] = [:]) {
        parents = inventory.parents.map { parent in
            ParentEntry(
                parent: parent.name, card: parent.card, driver: parent.driver, pciID: parent.pciID, model: parent.modelName,
                interface: parent.interface, nvml: nvml[parent.card],
                types: parent.types.map { type in
                    TypeEntry(
                        id: type.id, name: type.name, configName: type.configName, availableInstances: type.availableInstances,
                        deviceAPI: type.deviceAPI, description: type.description,
                        descriptionFields: Dictionary(type.descriptionFields.fields.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }),
                        maxInstances: type.maxInstances, capacitySource: type.descriptionFields.maxInstances == nil ? type.capacitySource : nil,
                        gpuInstanceProfile: type.gpuInstanceProfile)
                },
                devices: parent.devices.map {
                    DeviceEntry(uuid: parent.interface == .mdev ? $0.uuid.sysfsString : nil, type: $0.type, inUse: $0.isInUse, holders: $0.holders)
                })
        }
    }

    func render(format: OutputFormat) throws -> String {
        switch format {
        case .json: return try JSONOutput.encode(self)
        case .text: return text
        }
    }

    /// A card of several parents (an SR-IOV GPU's virtual functions) shown as one entry: its types once,
    /// with the instances available summed over its functions, and every device with its function.
    static func grouped(_ parents: [ParentEntry]) -> [ParentEntry] {
        parents.groupedInOrder(by: \.card).map { card, functions in
            guard functions.count > 1 else { return functions[0] }
            var entry = functions[0]
            entry.parent = "\(card): SR-IOV GPU, \(functions.count) virtual functions (\(entry.interface.modeName))"
            // What the GPU can still take: the functions that can take one, at most max_instance in all.
            entry.types = entry.types.map { type in
                var summed = type
                let free = functions.reduce(0) { sum, function in
                    sum + (function.types.first { $0.id == type.id }?.availableInstances ?? 0)
                }
                let existing = functions.reduce(0) { sum, function in sum + function.devices.filter { $0.type == type.id }.count }
                summed.availableInstances = min(free, max(0, (type.maxInstances ?? free + existing) - existing))
                return summed
            }
            entry.devices = functions.flatMap { function in
                function.devices.map { device in
                    var device = device
                    device.type = "\(device.type) on \(function.parent)"
                    return device
                }
            }
            return entry
        }
    }

    var text: String {
        guard !parents.isEmpty else { return "no mdev parents found (is the GPU driver loaded?)" }
        var blocks: [String] = []
        for parent in Self.grouped(parents) {
            var lines = [[parent.parent, parent.model, parent.driver.map { "driver \($0)" }, parent.pciID]
                .compactMap { $0 }.joined(separator: "  ")]
            if let nvml = parent.nvml { lines += ["  NVML says:"] + NVMLReportRenderer.modeLines(nvml).map { "    " + $0 } }
            var table = TextTable(["TYPE", "NAME", "AVAILABLE", "API", "DESCRIPTION"])
            for type in parent.types {
                // Vendor-specific mode states no description; the capacity comes from NVML or the framebuffer sizes.
                let source = type.capacitySource.map { $0 == .nvml ? " (NVML)" : " (from the framebuffer)" } ?? ""
                let description = type.description?.split(whereSeparator: \.isNewline).joined(separator: "; ")
                    ?? type.maxInstances.map { "at most \($0) per GPU\(source)" } ?? "-"
                let mig = type.gpuInstanceProfile.map { "; MIG-backed: a GPU instance of profile \($0) each" } ?? ""
                table.add([type.id, type.name ?? "-", String(type.availableInstances), type.deviceAPI ?? "-", description + mig])
            }
            lines += table.rendered.split(separator: "\n").map { "  " + $0 }
            if parent.devices.isEmpty {
                lines.append("  no devices")
            } else {
                lines.append("  devices:")
                for device in parent.devices {
                    let use = device.inUse ? "in use by " + device.holders.map(\.description).joined(separator: ", ") : "free"
                    lines.append("    \(device.uuid ?? "vGPU")  \(device.type)  \(use)")
                }
            }
            blocks.append(lines.joined(separator: "\n"))
        }
        return blocks.joined(separator: "\n\n")
    }
}
