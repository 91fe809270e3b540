import Foundation
import MdevTestSupport
import Testing

@testable import MdevModel

/// `devices` as users hand devices to VMs: every format on every example host, libvirt's own schema on the
/// `<hostdev>` elements, and the KubeVirt block read back.
@Suite("The devices command")
struct DevicesCommandTests {
    let inUse = "9d1e4a35-7c2b-4f60-8e91-3a5b7c9d0e12"
    let foreign = "c3f2b1a0-5d4e-4c8b-9a7f-6e5d4c3b2a10"

    func devices(_ host: String, _ arguments: [String] = []) throws -> CommandResult {
        try runCLI(["devices", "--host-root", host, "--node-name", "node01"] + arguments)
    }

    /// A copy of the L40S example host with three of its virtual functions configured as vGPUs (by another
    /// program: nothing of this one's record names them), one of them held by a VM.
    func configuredL40S() throws -> String {
        let root = try temporaryDirectory() + "/host"
        try copyExampleHost("l40s-vendor-mode", to: root)
        let functions = root + "/sys/devices/pci0000:00"
        for (function, type) in [("0000:3d:00.4", "1147"), ("0000:3d:00.5", "1147"), ("0000:4e:00.4", "1148")] {
            try "\(type)\n".write(toFile: "\(functions)/\(function)/nvidia/current_vgpu_type", atomically: false, encoding: .utf8)
        }
        return root
    }

    /// Each `<hostdev>` in a domain of its own, checked by libvirt's `virt-xml-validate`.
    func validateWithLibvirt(_ output: String) throws -> Int {
        let elements = output.components(separatedBy: "<hostdev ").dropFirst().map { "<hostdev " + $0.components(separatedBy: "</hostdev>")[0] + "</hostdev>" }
        for element in elements {
            let domain = """
                <domain type='kvm'>
                  <name>vm</name>
                  <memory unit='MiB'>512</memory>
                  <os><type arch='x86_64'>hvm</type></os>
                  <devices>
                \(element)
                  </devices>
                </domain>
                """
            let result = try ExternalChecker.virtXMLValidate(domain: domain)
            #expect(result.passed, "\(element)\n\(result.output)")
        }
        return elements.count
    }

    @Test("Every format works on every example host", arguments: ExampleHosts.all.map(\.name))
    func everyExampleHost(name: String) throws {
        let host = "contrib/example-hosts/" + name
        let text = try devices(host)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("DEVICE"))
        let json = try devices(host, ["--format", "json"])
        #expect(json.status == 0)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(text.stdout.contains("\(entries.count) device"))
        let libvirt = try devices(host, ["--format", "libvirt"])
        #expect(libvirt.status == 0)
        #expect(try validateWithLibvirt(libvirt.stdout) == entries.count)
        let kubevirt = try devices(host, ["--format", "kubevirt"])
        #expect(kubevirt.status == 0)
        #expect(try YAMLComposer.compose(kubevirt.stdout)?.mapping?.first?.key.string == "permittedHostDevices")
    }

    @Test("A VM's device and a foreign one: who holds what; --free, --type and --parent filter")
    func inUseHost() throws {
        let host = "contrib/example-hosts/t4-in-use"
        let all = try devices(host)
        #expect(all.stdout.contains("\(inUse)  nvidia-228 (GRID T4-8A)  0000:3b:00.0  -     no    pid 4242 (qemu-system-x86)"))
        #expect(all.stdout.hasSuffix("2 devices, 1 free\n"))
        let free = try devices(host, ["--free"])
        #expect(free.stdout.contains(foreign) && !free.stdout.contains(inUse))
        #expect(try devices(host, ["--type", "GRID_T4-1Q"]).stdout.contains(foreign))
        #expect(try devices(host, ["--type", "GRID T4-1Q"]).stdout.hasSuffix("1 device, 1 free\n"))
        #expect(try devices(host, ["--parent", "0000:3b:00.0"]).stdout.hasSuffix("1 device, 0 free\n"))
        #expect(try devices(host, ["--parent", "0000:99:00.0"]).stdout.hasSuffix("0 devices, 0 free\n"))

        let json = try devices(host, ["--format", "json", "--free"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries.first?["device"] as? String == foreign)
        #expect(entries.first?["ours"] as? Bool == false)
        #expect(entries.first?["typeName"] as? String == "GRID T4-1Q")

        let libvirt = try devices(host, ["--format", "libvirt", "--free"]).stdout
        #expect(libvirt == """
            <!-- nvidia-230 (GRID T4-1Q) on 0000:3c:00.0 -->
            <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'>
              <source>
                <address uuid='\(foreign)'/>
              </source>
            </hostdev>

            """)
        #expect(try validateWithLibvirt(libvirt) == 1)

        let kubevirt = try devices(host, ["--format", "kubevirt"]).stdout
        let block = try #require(try YAMLComposer.compose(kubevirt)?.mapping?.first?.value.mapping)
        let mediated = try #require(block.first { $0.key.string == "mediatedDevices" }?.value.sequence)
        #expect(mediated.compactMap { $0.mapping?.first { $0.key.string == "mdevNameSelector" }?.value.string } == ["GRID T4-1Q", "GRID T4-8A"])
        #expect(mediated.compactMap { $0.mapping?.first { $0.key.string == "resourceName" }?.value.string }
            == ["nvidia.com/GRID_T4-1Q", "nvidia.com/GRID_T4-8A"])
    }

    @Test("Vendor-specific mode: configured virtual functions are the devices, as PCI hostdevs and KubeVirt pciHostDevices")
    func vendorMode() throws {
        let host = try configuredL40S()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: host).deletingLastPathComponent().path) }
        let text = try devices(host)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("0000:3d:00.4  nvidia-1147 (NVIDIA L40S-1Q)  0000:3d:00.4  0000:3d:00.0  no    -"))
        #expect(text.stdout.hasSuffix("3 devices, 3 free\n"))
        #expect(try devices(host, ["--parent", "0000:4e:00.0"]).stdout.hasSuffix("1 device, 1 free\n"))

        let libvirt = try devices(host, ["--format", "libvirt", "--parent", "0000:4e:00.0"]).stdout
        #expect(libvirt.contains("""
            <hostdev mode='subsystem' type='pci' managed='no'>
              <source>
                <address domain='0x0000' bus='0x4e' slot='0x00' function='0x4'/>
              </source>
            </hostdev>
            """))
        #expect(try validateWithLibvirt(try devices(host, ["--format", "libvirt"]).stdout) == 3)

        let kubevirt = try devices(host, ["--format", "kubevirt"]).stdout
        let block = try #require(try YAMLComposer.compose(kubevirt)?.mapping?.first?.value.mapping)
        let pci = try #require(block.first { $0.key.string == "pciHostDevices" }?.value.sequence)
        #expect(pci.count == 1)
        let entry = try #require(pci.first?.mapping)
        #expect(entry.first { $0.key.string == "pciVendorSelector" }?.value.string == "10DE:26B9")
        // Two types on functions of one PCI id: KubeVirt gives them one resource, and the output says so.
        #expect(kubevirt.contains("# these functions hold NVIDIA L40S-1Q, NVIDIA L40S-2Q: KubeVirt offers them as one resource"))
        #expect(block.first { $0.key.string == "mediatedDevices" }?.value.sequence?.isEmpty == true)
    }

    @Test("The KubeVirt block pasted into a CR is read by validate")
    func kubevirtBlockInCR() throws {
        let block = try devices("contrib/example-hosts/t4-in-use", ["--format", "kubevirt"]).stdout
        let indented = block.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cr = """
            apiVersion: kubevirt.io/v1
            kind: KubeVirt
            spec:
              configuration:
            \(indented)
                mediatedDevicesConfiguration:
                  mediatedDeviceTypes: [nvidia-228]

            """
        try cr.write(toFile: directory + "/cr.yaml", atomically: false, encoding: .utf8)
        let result = try runCLI(["validate", "--config", directory + "/cr.yaml", "--host-root", "contrib/example-hosts/t4-in-use", "--node-name", "node01"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}

extension YAMLNode {
    var string: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }
}
