import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// NVIDIA's vendor-specific mode read from sysfs-shaped trees with real links.
@Suite("NVIDIA vendor-specific mode in sysfs")
struct VendorSysfsTests {
    func backend(_ files: any VendorVGPUFiles) -> VendorVGPUBackend {
        VendorVGPUBackend(files: files, record: VendorVGPURecord(path: nil))
    }

    func treeFiles(_ tree: SysfsTreeBuilder) -> SysfsVendorVGPUFiles {
        SysfsVendorVGPUFiles(sysfsRoot: tree.sys, holderScanner: VFIOHolderScanner(procRoot: tree.proc))
    }

    @Test("An L40S tree with the captured creatable_vgpu_types reads as the simulated GPU does, configured and held functions included")
    func l40sTree() throws {
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        // Free first: the tree holds the captured text verbatim, and the catalog is learnt.
        let freeTree = try SysfsTreeBuilder.temporary()
        defer { freeTree.removeAll() }
        try freeTree.addVendorGPU(VendorProfiles.l40s("0000:3d:00.0"), from: gpus)
        #expect(try FileSystem.readText(freeTree.sys + "/bus/pci/devices/0000:3d:00.4/nvidia/creatable_vgpu_types")
            == VendorProfiles.l40sCreatableText)
        #expect(try backend(treeFiles(freeTree)).readInventory().inventory == backend(gpus).readInventory().inventory)

        // Then two functions configured, one held by a VM through its IOMMU group.
        gpus.configure("0000:3d:00.4", number: 1150)
        gpus.configure("0000:3d:00.5", number: 1150, holders: [DeviceHolder(pid: 4242, command: "qemu-system-x86")])
        let groups = try tree.addVendorGPU(VendorProfiles.l40s("0000:3d:00.0"), from: gpus)
        try tree.addProcess(pid: 4242, command: "qemu-system-x86", openFiles: ["/dev/vfio/vfio", "/dev/vfio/\(groups["0000:3d:00.5"]!)"])
        let fromTree = try backend(treeFiles(tree)).readInventory()
        let simulated = try backend(gpus).readInventory()
        #expect(fromTree.inventory == simulated.inventory)
        #expect(fromTree.warnings.isEmpty)
        let held = try #require(fromTree.inventory.parent(named: "0000:3d:00.5"))
        #expect(held.devices.first?.holders == [DeviceHolder(pid: 4242, command: "qemu-system-x86")])
        #expect(fromTree.inventory.parent(named: "0000:3d:00.6")?.types.filter { $0.availableInstances == 1 }.map(\.id)
            == ["nvidia-1150", "nvidia-1160"])
    }

    @Test("A Blackwell-like GPU: PCI domain 0001, functions from offset 2; the physical function is no parent")
    func blackwell() throws {
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.blackwell()])
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        try tree.addVendorGPU(VendorProfiles.blackwell(), from: gpus)
        let inventory = try backend(treeFiles(tree)).readInventory().inventory
        #expect(inventory.parents.count == 32)
        #expect(inventory.parents.first?.name == "0001:04:00.2")
        #expect(inventory.parents.last?.name == "0001:04:04.1")
        #expect(inventory.parents.allSatisfy { $0.card == "0001:04:00.0" && $0.pciID == "10de:2bb5" && $0.driver == "nvidia" })
        #expect(inventory.parent(named: "0001:04:00.0") == nil)
    }

    @Test("Hosts with an empty class/mdev_bus, or none, still read their vendor-specific functions", arguments: [true, false])
    func withoutMdevBus(emptyBus: Bool) throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.a40("0000:41:00.0")])
        try tree.addVendorGPU(VendorProfiles.a40("0000:41:00.0"), from: gpus)
        if emptyBus { try FileManager.default.createDirectory(atPath: tree.sys + "/class/mdev_bus", withIntermediateDirectories: true) }
        let host = CombinedHost(
            mdev: SysfsHost(reader: SysfsInventoryReader(sysfsRoot: tree.sys, holderScanner: VFIOHolderScanner(procRoot: tree.proc))),
            vendor: backend(treeFiles(tree)))
        let reading = try host.readInventory()
        #expect(reading.warnings.isEmpty)
        #expect(reading.inventory.parents.count == 32)
        #expect(reading.inventory.parents.allSatisfy { $0.interface == .nvidiaVendorSpecific })
        // The guide's layout (name, then number) is read too.
        #expect(reading.inventory.parents[0].type(matching: "NVIDIA_A40-2Q")?.id == "nvidia-558")
        // A partial reading of a function and of a name that is nothing: the name is gone, the function is not.
        let partial = try host.readParents(["0000:41:00.4", "0000:99:00.0"])
        #expect(partial.inventory.parents.map(\.name) == ["0000:41:00.4"])
        #expect(partial.gone == ["0000:99:00.0"])
    }

    @Test("Writes go only to functions found in bus/pci/devices, at the directory found; names from events cannot leave it")
    func writesOnlyToDiscoveredFunctions() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.blackwell()])
        try tree.addVendorGPU(VendorProfiles.blackwell(), from: gpus)
        let files = treeFiles(tree)
        #expect(files.function(named: "../../../etc") == nil)
        #expect(files.function(named: "0001:04:00.0") == nil)  // The physical function has no nvidia/ directory.
        let function = try #require(try files.functions().first { $0.name == "0001:04:00.2" })
        #expect(function.directory == tree.sys + "/devices/pci0001:00/0001:04:00.2")
        try files.setCurrentType("1561", of: function)
        #expect(try files.currentType(of: function).hasPrefix("1561"))
        // A function that went away (its nvidia/ directory with it) is no longer discovered, and a write to
        // where it was fails with the kernel's errno.
        let gone = try #require(files.function(named: "0001:04:00.3"))
        try FileManager.default.removeItem(atPath: tree.sys + "/devices/pci0001:00/0001:04:00.3/nvidia")
        #expect(files.function(named: "0001:04:00.3") == nil)
        #expect(try files.functions().map(\.name).contains("0001:04:00.3") == false)
        let error = #expect(throws: SysfsError.self) { try files.setCurrentType("1561", of: gone) }
        #expect(error?.errno == .noSuchFileOrDirectory)
    }
}
