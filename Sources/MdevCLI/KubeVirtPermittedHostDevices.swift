import MdevModel

/// `devices --format kubevirt`: the `permittedHostDevices` block of a KubeVirt CR (`spec.configuration`) for
/// the types of the devices listed, so that virt-handler's device plugins offer them as node resources.
///
/// - Mediated devices: KubeVirt matches `mdevNameSelector` against the device's `mdev_type/name` (else its
///   type directory's name), spaces and underscores alike (`getMdevTypeName` and `removeSelectorSpaces` in
///   kubevirt's pkg/virt-handler/device-manager/mediated_device.go).
/// - vGPUs in NVIDIA's vendor-specific mode: since KubeVirt v1.9.0 (kubevirt/kubevirt#16890,
///   `shouldPermitNvidia` in pkg/virt-handler/device-manager/nvidia.go) its PCI device plugin offers a
///   virtual function bound to the `nvidia` driver that is not a physical function and whose
///   `nvidia/current_vgpu_type` is not 0, through a `pciHostDevices` entry: `pciVendorSelector` is the
///   function's `vendor:device` (compared case-blind, device_controller.go), `resourceName` what VMs request.
///   All functions of one PCI id share one resource, whatever vGPU type each holds.
enum KubeVirtPermittedHostDevices {
    static func yaml(_ devices: [HostDevice], node: String) -> String {
        var lines = [
            "# The permittedHostDevices of a KubeVirt CR (spec.configuration) for the devices of node \(node),",
            "# from mdev-reconciler devices --format kubevirt.",
            "permittedHostDevices:",
        ]
        let mediated = devices.filter { $0.interface == .mdev }
        let selectors = Dictionary(grouping: mediated) { $0.typeName ?? $0.type }
        if selectors.isEmpty { lines.append("  mediatedDevices: []") } else { lines.append("  mediatedDevices:") }
        for (selector, devices) in selectors.sorted(by: { $0.key < $1.key }) {
            lines += [
                "  - mdevNameSelector: \(quoted(selector))",
                "    resourceName: \(quoted(resourceName(vendor: devices[0].pciID, name: selector)))",
            ]
        }
        let functions = Dictionary(grouping: devices.filter { $0.interface == .nvidiaVendorSpecific && $0.pciID != nil }) { $0.pciID! }
        if functions.isEmpty { lines.append("  pciHostDevices: []") } else { lines.append("  pciHostDevices:") }
        for (pciID, devices) in functions.sorted(by: { $0.key < $1.key }) {
            let names = Set(devices.map { $0.typeName ?? $0.type }).sorted()
            if names.count > 1 {
                lines.append("  # these functions hold \(names.joined(separator: ", ")): KubeVirt offers them as one resource")
            }
            lines += [
                "  - pciVendorSelector: \(quoted(pciID.uppercased()))",
                "    resourceName: \(quoted(resourceName(vendor: pciID, name: names.count == 1 ? names[0] : pciID.uppercased() + "_vGPU")))",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `nvidia.com/GRID_T4-1B`, the form NVIDIA's KubeVirt device plugin and KubeVirt's documentation use: a
    /// domain for the PCI vendor, then the name with every character a resource name cannot hold as `_`.
    static func resourceName(vendor pciID: String?, name: String) -> String {
        let domain: String
        switch pciID?.split(separator: ":").first?.lowercased() {
        case "10de": domain = "nvidia.com"
        case "8086": domain = "intel.com"
        default: domain = "mdev.local"
        }
        var safe = String(name.trimmingSpaces().map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
        while let first = safe.first, !(first.isLetter || first.isNumber) { safe.removeFirst() }
        while let last = safe.last, !(last.isLetter || last.isNumber) { safe.removeLast() }
        return domain + "/" + String((safe.isEmpty ? "device" : safe).prefix(63))
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ value: String) -> String {
        "\"" + value.escapingForDoubleQuotes + "\""
    }
}
