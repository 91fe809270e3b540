import MdevModel

/// `devices --format libvirt`: one `<hostdev>` element per device, for a libvirt domain's `<devices>`
/// (https://libvirt.org/formatdomain.html#host-device-assignment).
enum LibvirtHostdev {
    /// The elements, each after a comment naming its type and parent.
    static func elements(_ devices: [HostDevice]) -> String {
        devices.map { "<!-- \(comment(for: $0)) -->\n" + element(for: $0) + "\n" }.joined()
    }

    /// A mediated device by its UUID; a vGPU in NVIDIA's vendor-specific mode as the PCI virtual function it
    /// is, `managed='no'`: the function stays bound to the nvidia driver, which serves VFIO for it (libvirt
    /// must not rebind it to vfio-pci).
    static func element(for device: HostDevice) -> String {
        switch device.interface {
        case .mdev:
            // libvirt's models are the mdev device APIs; display= exists for vfio-pci only.
            let model = ["vfio-pci", "vfio-ccw", "vfio-ap"].contains(device.deviceAPI ?? "") ? device.deviceAPI! : "vfio-pci"
            let display = model == "vfio-pci" ? " display='off'" : ""
            return """
                <hostdev mode='subsystem' type='mdev' model='\(model)'\(display)>
                  <source>
                    <address uuid='\(device.uuid.sysfsString)'/>
                  </source>
                </hostdev>
                """
        case .nvidiaVendorSpecific:
            guard let address = PCIAddress(device.parent) else {
                return "<!-- \(device.parent) is not a PCI address: no element -->"
            }
            return """
                <hostdev mode='subsystem' type='pci' managed='no'>
                  <source>
                    <address domain='0x\(address.domain)' bus='0x\(address.bus)' slot='0x\(address.slot)' function='0x\(address.function)'/>
                  </source>
                </hostdev>
                """
        }
    }

    /// `nvidia-222 (GRID T4-1B) on 0000:3b:00.0, in use by pid 4242 (qemu)`, with nothing that could end an
    /// XML comment.
    static func comment(for device: HostDevice) -> String {
        var text = device.typeLabel + " on " + device.parent
        if device.isInUse { text += ", in use by " + device.holders.map(\.description).joined(separator: ", ") }
        var safe = ""
        for character in text where character != "\n" {
            if character == "-" && safe.last == "-" { safe += " " }
            safe.append(character)
        }
        return safe.hasSuffix("-") ? safe + " " : safe
    }
}

/// A PCI address as sysfs names a device: `0000:41:00.4` (domain, bus, slot and function in hex).
struct PCIAddress: Hashable {
    var domain: String
    var bus: String
    var slot: String
    var function: String

    init?(_ name: String) {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let slotFunction = parts[2].split(separator: ".", omittingEmptySubsequences: false)
        guard slotFunction.count == 2 else { return nil }
        let fields = [parts[0], parts[1], slotFunction[0], slotFunction[1]].map(String.init)
        let widths = [4, 2, 2, 1]
        guard zip(fields, widths).allSatisfy({ field, width in field.count == width && field.allSatisfy(\.isHexDigit) }) else { return nil }
        (domain, bus, slot, function) = (fields[0], fields[1], fields[2], fields[3])
    }
}
