import Glibc
import Foundation
import MdevModel
import MdevTestSupport
import SystemPackage
import Testing

@testable import MdevSysfs

@Suite("Reading sysfs and procfs trees")
struct SysfsInventoryReaderTests {
    func reader(_ tree: SysfsTreeBuilder) -> SysfsInventoryReader {
        SysfsInventoryReader(sysfsRoot: tree.sys, holderScanner: VFIOHolderScanner(procRoot: tree.proc))
    }

    @Test("Every example host reads back exactly as the simulated kernel describes it")
    func roundTrip() throws {
        for host in ExampleHosts.all {
            let tree = try SysfsTreeBuilder.temporary()
            defer { tree.removeAll() }
            try ExampleHosts.write(host, to: tree.root)
            let reading = try reader(tree).read()
            #expect(reading.inventory == (try host.kernel.readInventory().inventory), "\(host.name)")
            #expect(reading.warnings.isEmpty)
        }
    }

    @Test("Parents, types, descriptions, drivers and PCI ids are read from the right files")
    func fields() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        try ExampleHosts.write(ExampleHosts.t4AndGVTg(), to: tree.root)
        let inventory = try reader(tree).read().inventory
        #expect(inventory.parents.map(\.name) == ["0000:00:02.0", "0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"])
        let t4 = try #require(inventory.parent(named: "0000:3b:00.0"))
        #expect(t4.driver == "nvidia")
        #expect(t4.pciID == "10de:1eb8")
        #expect(t4.modelName == "GRID T4")
        let type = try #require(t4.type(withID: "nvidia-222"))
        #expect(type.name == "GRID T4-1B")
        #expect(type.configName == "GRID_T4-1B")
        #expect(type.availableInstances == 16)
        #expect(type.maxInstances == 16)
        #expect(type.descriptionFields["framebuffer"] == "1024M")
        let gvt = try #require(inventory.parent(named: "0000:00:02.0")?.type(withID: "i915-GVTg_V5_4"))
        #expect(gvt.descriptionFields["resolution"] == "1920x1200")
        #expect(gvt.descriptionFields["weight"] == "4")
    }

    @Test("A device is held through its VFIO group or its VFIO cdev; the container file holds nothing")
    func holders() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let parent = Parent(name: "mtty", driver: "mtty", types: [MdevType(id: "mtty-1", availableInstances: 21)])
        try tree.addParent(parent)
        let byGroup = UUID(), byCdev = UUID(), free = UUID()
        try tree.addDevice(byGroup, type: "mtty-1", on: parent, iommuGroup: 7)
        try tree.addDevice(byCdev, type: "mtty-1", on: parent, iommuGroup: 8, vfioCdev: "vfio3")
        try tree.addDevice(free, type: "mtty-1", on: parent, iommuGroup: 9)
        try tree.addProcess(pid: 100, command: "qemu-a", openFiles: ["/dev/vfio/vfio", "/dev/vfio/7", "anon_inode:[vfio-device]"])
        try tree.addProcess(pid: 200, command: "qemu-b", openFiles: ["/dev/iommu", "/dev/vfio/devices/vfio3"])
        try tree.addProcess(pid: 300, command: "bash", openFiles: ["/dev/pts/0", "/dev/vfio/vfio"])
        let devices = try reader(tree).read().inventory.parents[0].devices
        func holders(_ uuid: UUID) -> [DeviceHolder] { devices.first { $0.uuid == uuid }!.holders }
        #expect(holders(byGroup) == [DeviceHolder(pid: 100, command: "qemu-a")])
        #expect(holders(byCdev) == [DeviceHolder(pid: 200, command: "qemu-b")])
        #expect(holders(free).isEmpty)
    }

    @Test("A partial reading reads only the named parents and reports the others gone")
    func partialReading() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        try ExampleHosts.write(ExampleHosts.threeT4(), to: tree.root)
        let reading = try reader(tree).read(parents: ["0000:3c:00.0", "0000:99:00.0", "../../devices", "mtty"])
        #expect(reading.inventory.parents.map(\.name) == ["0000:3c:00.0"])
        #expect(reading.gone == ["0000:99:00.0", "../../devices", "mtty"])
        #expect(Set(reading.locations.keys) == ["0000:3c:00.0"])
        // Unplugging a card: its class link disappears.
        try FileManager.default.removeItem(atPath: tree.sys + "/class/mdev_bus/0000:3c:00.0")
        #expect(try reader(tree).read(parents: ["0000:3c:00.0"]).gone == ["0000:3c:00.0"])
    }

    @Test("A parent class/mdev_bus lists is never gone, even when its link cannot be followed: it was not read whole")
    func listedIsNeverGone() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        try ExampleHosts.write(ExampleHosts.threeT4(), to: tree.root)
        let known = try reader(tree).read().snapshot
        // The kernel lists the entry, but looking it up fails (seen on 6.1 under load): here a link that leads nowhere.
        let link = tree.sys + "/class/mdev_bus/0000:3d:00.0"
        try FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "../../devices/nowhere")
        let reading = try reader(tree).read(parents: ["0000:3b:00.0", "0000:3d:00.0"])
        #expect(reading.gone.isEmpty)
        #expect(reading.incomplete.keys.sorted() == ["0000:3d:00.0"])
        #expect(reading.warnings.contains { $0.hasPrefix("parent 0000:3d:00.0 left out") })
        // Merged into what was known, the card keeps its devices and its place, and nothing is planned on it.
        let after = reading.applied(to: known, full: false)
        #expect(after.inventory.parents.map(\.name) == ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"])
        #expect(after.inventory.parent(named: "0000:3d:00.0")?.readProblem != nil)
        // Once it is no longer listed, it is gone.
        try FileManager.default.removeItem(atPath: link)
        #expect(try reader(tree).read(parents: ["0000:3d:00.0"]).gone == ["0000:3d:00.0"])
    }

    @Test("A host without class/mdev_bus is empty; a missing sysfs root is an error")
    func emptyAndMissing() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        #expect(try reader(tree).read().inventory.parents.isEmpty)
        let missing = SysfsInventoryReader(sysfsRoot: tree.root + "/nope", holderScanner: VFIOHolderScanner(procRoot: tree.proc))
        #expect(throws: SysfsError.self) { try missing.read() }
    }

    @Test("/proc is read only when devices exist; when it cannot be read, the whole reading fails")
    func procNeededForDevices() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        try ExampleHosts.write(ExampleHosts.threeT4(), to: tree.root)
        let noProc = SysfsInventoryReader(sysfsRoot: tree.sys, holderScanner: VFIOHolderScanner(procRoot: tree.root + "/nope"))
        #expect(try noProc.read().inventory.parents.count == 3)
        let parent = try #require(try noProc.read().inventory.parents.first)
        try tree.addDevice(UUID(), type: "nvidia-222", on: parent, iommuGroup: 1)
        let error = #expect(throws: SysfsError.self) { try noProc.read() }
        #expect(error?.path == tree.root + "/nope")
    }

    @Test("A parent that cannot be read is left out; one whose type count does not parse keeps the type and carries why")
    func unreadableParts() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let good = Parent(name: "0000:3b:00.0", driver: "nvidia", types: [MdevType(id: "nvidia-222", availableInstances: 16)])
        let broken = Parent(name: "0000:3c:00.0", driver: "nvidia", types: [MdevType(id: "nvidia-222", availableInstances: 16),
                                                                          MdevType(id: "nvidia-228", availableInstances: 2)])
        try tree.addParent(good)
        try tree.addParent(broken)
        let garbled = tree.typeDirectory("nvidia-228", of: broken) + "/available_instances"
        try "garbage\n".write(toFile: garbled, atomically: false, encoding: .utf8)
        // A dangling class link: the parent went away between listing and reading.
        try FileManager.default.createSymbolicLink(atPath: tree.sys + "/class/mdev_bus/0000:3d:00.0", withDestinationPath: "../../devices/gone")
        let reading = try reader(tree).read()
        #expect(reading.inventory.parents.map(\.name) == ["0000:3b:00.0", "0000:3c:00.0"])
        #expect(reading.inventory.parents[1].types.map(\.id) == ["nvidia-222", "nvidia-228"])
        #expect(reading.inventory.parents[0].readProblem == nil)
        // Not an errno: the file and its text.
        let problem = "type nvidia-228: \(garbled) reads 'garbage', not a whole number from 0 to 2147483647"
        #expect(reading.inventory.parents[1].readProblem == problem)
        #expect(reading.incomplete == ["0000:3c:00.0": problem, "0000:3d:00.0": reading.incomplete["0000:3d:00.0"] ?? "-"])
        #expect(reading.warnings.count == 2)
        #expect(reading.warnings.contains("parent 0000:3c:00.0 is left as it is: \(problem)"))
        #expect(reading.warnings.contains { $0.hasPrefix("parent 0000:3d:00.0 left out") })
    }

    @Test("A count above what a slot addresses is capped by the planner with a warning, never a crash")
    func hugeCount() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        try tree.addParent(Parent(name: "mtty", driver: "mtty", types: [MdevType(id: "mtty-1", availableInstances: 70000)]))
        let reading = try reader(tree).read()
        #expect(reading.warnings == ["type mtty-1 of parent mtty reports 70000 available instances; at most 65536 are created per type and parent"])
        let plan = Planner.plan(PlanningInput(
            inventory: reading.inventory, wanted: WantedTypes(types: ["mtty-1"], source: .global), hostKey: HostKey(nodeName: "n"),
            settings: ReconcilerSettings(), nodeName: "n"))
        #expect(plan.parents[0].create.count == HostKey.slotCount)
        #expect(Set(plan.parents[0].create.map(\.uuid)).count == HostKey.slotCount)
    }

    /// What goes wrong in one type of one parent, and how the reading says it.
    enum BadFile: String, CaseIterable, Sendable {
        case fifo, directory, outOfRange, negative, symlinkLoop, typeIsAFile, text
    }

    @Test("A bad file in one parent (FIFO, directory, 2^63, negative, symlink loop, a type that is a file) names the path and leaves only that parent as it is", arguments: BadFile.allCases)
    func badFiles(kind: BadFile) throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let good = Parent(name: "0000:3b:00.0", driver: "nvidia", types: [MdevType(id: "nvidia-222", availableInstances: 16)])
        let bad = Parent(name: "0000:3c:00.0", driver: "nvidia", types: [MdevType(id: "nvidia-222", availableInstances: 16)])
        try tree.addParent(good)
        try tree.addParent(bad)
        let type = tree.typeDirectory("nvidia-222", of: bad)
        let file = type + "/available_instances"
        try FileManager.default.removeItem(atPath: file)
        let expected: String
        switch kind {
        case .fifo:
            // Read, a FIFO would block every command forever: it is refused before any read.
            #expect(mkfifo(file, 0o644) == 0)
            expected = "read \(file): Illegal seek (not a regular file: a FIFO, socket or device is never read)"
        case .directory:
            try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: false)
            expected = "read \(file): Is a directory (a directory, not a file)"
        case .outOfRange:
            try "9223372036854775808\n".write(toFile: file, atomically: false, encoding: .utf8)
            expected = "\(file) reads '9223372036854775808', not a whole number from 0 to 2147483647"
        case .negative:
            try "-1\n".write(toFile: file, atomically: false, encoding: .utf8)
            expected = "\(file) reads '-1', not a whole number from 0 to 2147483647"
        case .text:
            try "\u{1B}[2J16\n".write(toFile: file, atomically: false, encoding: .utf8)
            expected = "\(file) reads '\\u{1B}[2J16', not a whole number from 0 to 2147483647"
        case .symlinkLoop:
            try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: "available_instances")
            expected = "open \(file): Too many levels of symbolic links"
        case .typeIsAFile:
            try FileManager.default.removeItem(atPath: type)
            try "nvidia-222\n".write(toFile: type, atomically: false, encoding: .utf8)
            expected = "open \(file): Not a directory"
        }
        let reading = try reader(tree).read()
        // Only the bad parent is left as it is, with the path and the reason; the good one reads whole.
        #expect(reading.inventory.parent(named: good.name)?.readProblem == nil)
        #expect(reading.inventory.parent(named: good.name)?.types.first?.availableInstances == 16)
        #expect(reading.incomplete == [bad.name: "type nvidia-222: \(expected)"])
        #expect(reading.warnings == ["parent \(bad.name) is left as it is: type nvidia-222: \(expected)"])
        // Planned from no reading: nothing is created or removed on it.
        let plan = Planner.plan(PlanningInput(
            inventory: reading.inventory, wanted: WantedTypes(types: ["nvidia-222"], source: .global),
            hostKey: HostKey(nodeName: "node01"), settings: .init(), nodeName: "node01"))
        #expect(plan.parents.first { $0.parent == good.name }?.hasChanges == true)
        #expect(plan.parents.first { $0.parent == bad.name }?.hasChanges != true)
    }

}

@Suite("Writing sysfs: only to discovered paths")
struct SysfsHostTests {
    @Test("create and remove write to the type and device directories the reading discovered; other names are refused")
    func writesToDiscoveredPaths() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let parent = Parent(name: "mtty", driver: "mtty", types: [MdevType(id: "mtty-1", availableInstances: 23)])
        try tree.addParent(parent)
        let device = UUID()
        try tree.addDevice(device, type: "mtty-1", on: parent, iommuGroup: 1)
        let host = SysfsHost(reader: SysfsInventoryReader(sysfsRoot: tree.sys, holderScanner: VFIOHolderScanner(procRoot: tree.proc)))
        let location = try #require(try host.readInventory().locations["mtty"])
        guard case .mdev(let discovered) = location else { Issue.record("not an mdev parent: \(location)"); return }
        #expect(discovered.directory == tree.sys + "/devices/virtual/mtty/mtty")
        let new = UUID()
        try host.create(new, type: "mtty-1", at: location)
        #expect(try FileSystem.readText(tree.typeDirectory("mtty-1", of: parent) + "/create") == new.sysfsString)
        try host.remove(device, at: location)
        let deviceDirectory = tree.sys + "/devices/virtual/mtty/mtty/" + device.sysfsString
        #expect(try FileSystem.readText(deviceDirectory + "/remove") == "1")
        #expect(try host.availableInstances(of: "mtty-1", at: location) == 23)
        // Only what the reading found: a type name with a path in it, a device it did not see.
        #expect(throws: NotDiscoveredError.self) { try host.create(UUID(), type: "../../../../power", at: location) }
        #expect(throws: NotDiscoveredError.self) { try host.remove(UUID(), at: location) }
        // The device the reading saw is removed where it was found, even after the host changed since.
        #expect(throws: NotDiscoveredError.self) { try host.remove(new, at: location) }
    }

    @Test("A link that leads out of the sysfs root is never followed to a write: the parent is left out, a type link is refused")
    func linksOutOfTheRoot() throws {
        let tree = try SysfsTreeBuilder.temporary()
        let outside = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll(); outside.removeAll() }
        // `outside` plays the real /sys: an absolute link in the tree points into it.
        let real = Parent(name: "mtty", driver: "mtty", types: [MdevType(id: "mtty-1", availableInstances: 4)])
        try outside.addParent(real)
        let realCreate = outside.typeDirectory("mtty-1", of: real) + "/create"
        try FileManager.default.createDirectory(atPath: tree.sys + "/class/mdev_bus", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: tree.sys + "/class/mdev_bus/mtty", withDestinationPath: outside.sys + "/devices/virtual/mtty/mtty")
        // A parent inside the tree whose type directory is a link out of it.
        let inside = Parent(name: "inside", driver: "mtty", types: [MdevType(id: "mtty-1", availableInstances: 4)])
        try tree.addParent(inside)
        try FileManager.default.removeItem(atPath: tree.typeDirectory("mtty-1", of: inside))
        try FileManager.default.createSymbolicLink(atPath: tree.typeDirectory("mtty-1", of: inside), withDestinationPath: outside.typeDirectory("mtty-1", of: real))
        let host = SysfsHost(reader: SysfsInventoryReader(sysfsRoot: tree.sys, holderScanner: VFIOHolderScanner(procRoot: tree.proc)))
        let reading = try host.readInventory()
        #expect(reading.inventory.parents.map(\.name) == ["inside"])
        #expect(reading.warnings.contains { $0.hasPrefix("parent mtty left out: realpath \(tree.sys)/class/mdev_bus/mtty: ") && $0.contains("leads out of the sysfs root") })
        let location = try #require(reading.locations["inside"])
        let error = #expect(throws: SysfsError.self) { try host.create(UUID(), type: "mtty-1", at: location) }
        #expect(error?.errno == .improperLink)
        #expect(try FileSystem.readText(realCreate).isEmpty)
    }

    @Test("A failed write carries the path and the kernel's errno, explained")
    func writeErrors() throws {
        let error = #expect(throws: SysfsError.self) { try FileSystem.write("x", to: "/nonexistent-dir/create", inside: ConfinedRoot("/")) }
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(SysfsError(.write, "/sys/x/create", Errno.noSpace).description.hasSuffix("(no capacity left for this type)"))
        #expect(SysfsError(.write, "/sys/x/create", Errno.fileExists).description.hasSuffix("(the UUID is already in use)"))
    }
}

@Suite("Host identity")
struct HostIdentityTests {
    @Test("The machine id file gives the key; a missing or invalid one falls back to the node name with a warning")
    func machineID() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        try tree.writeMachineID("4a5f0c2e9b1d47e8a3c6f0b2d4e6a8c1\n")
        let (key, warning) = HostIdentity.hostKey(machineIDFile: tree.machineIDFile, nodeName: "node01")
        #expect(key == HostKey(machineID: UUID(uuidString: "4a5f0c2e-9b1d-47e8-a3c6-f0b2d4e6a8c1")!))
        #expect(warning == nil)
        for content in ["", "uninitialized\n", "00000000000000000000000000000000\n", "4a5f0c2e-9b1d-47e8-a3c6-f0b2d4e6a8c1\n"] {
            try tree.writeMachineID(content)
            let (fallback, warning) = HostIdentity.hostKey(machineIDFile: tree.machineIDFile, nodeName: "node01")
            #expect(fallback == HostKey(nodeName: "node01"))
            #expect(warning?.contains("node name 'node01'") == true)
        }
        let (missing, missingWarning) = HostIdentity.hostKey(machineIDFile: tree.root + "/none", nodeName: "n")
        #expect(missing.origin == .nodeName)
        #expect(missingWarning != nil)
    }

}
