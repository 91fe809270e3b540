import ArgumentParser
import MdevModel
import MdevSysfs

/// `devices`: the host's devices, for people and for handing them to VMs (libvirt, KubeVirt).
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", _superCommandName: MdevReconcilerCommand.name,
        abstract: "List the host's devices (mdevs, and NVIDIA virtual functions configured with a vGPU), or print them for libvirt or KubeVirt.",
        discussion: """
            Each device with its type (id and name), parent, card, whether mdev-reconciler made it and which \
            process holds it. --format libvirt prints one <hostdev> element per device for a domain's <devices>; \
            --format kubevirt the permittedHostDevices block of a KubeVirt CR for the devices listed.

            Examples:
              mdev-reconciler devices --free
              mdev-reconciler devices --free --type nvidia-222 --format libvirt
              mdev-reconciler devices --format kubevirt
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, libvirt, kubevirt
    }

    @OptionGroup var host: HostRootOptions
    @OptionGroup var identity: NodeIdentityOptions
    @Flag(help: "Only devices no process holds.") var free = false
    @Option(help: ArgumentHelp("Only devices of this type (its id, or its name as in the config).", valueName: "TYPE"))
    var type: String?
    @Option(help: ArgumentHelp("Only devices on this parent, or on the virtual functions of this card.", valueName: "PARENT"))
    var parent: String?
    @Option(help: "Output format.") var format: Format = .text

    func run() throws {
        try reportingErrors {
            let reading = try host.makeHost(recording: false).readInventory()
            for warning in reading.warnings { Diagnostics().warning(warning) }
            let (hostKey, warning) = HostIdentity.hostKey(machineIDFile: identity.machineIDFile(of: host), nodeName: identity.resolvedNodeName)
            if let warning { Diagnostics().warning(warning) }
            // A type no parent offers is most likely a slip: said, with the closest real one.
            if let type, let unknown = TypeSuggestion.warning(for: type, on: reading.inventory) { Diagnostics().warning("--type \(unknown)") }
            let devices = HostDevice.list(reading.inventory, hostKey: hostKey).filter(matches)
            switch format {
            case .text: print(DevicesReport.text(devices))
            case .json: print(try DevicesReport.json(devices))
            case .libvirt: print(LibvirtHostdev.elements(devices), terminator: "")
            case .kubevirt: print(KubeVirtPermittedHostDevices.yaml(devices, node: identity.resolvedNodeName), terminator: "")
            }
        }
    }

    private func matches(_ device: HostDevice) -> Bool {
        if free && device.isInUse { return false }
        if let type, !device.isOfType(type) { return false }
        if let parent, parent != device.parent, parent != device.card { return false }
        return true
    }
}
