import Dispatch
import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import SystemPackage
import Testing

/// The simulated kernel must enforce the rules real drivers enforce, or the apply tests prove nothing.
@Suite("The simulated kernel's rules")
struct SimulatedKernelTests {
    @Test("create makes the device appear and lowers capacity; ENOSPC at zero; EEXIST on a taken UUID")
    func capacityAndDuplicates() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        let first = UUID()
        try kernel.create(first, type: "nvidia-228", on: "0000:3b:00.0")
        #expect(try kernel.availableInstances(of: "nvidia-228", on: "0000:3b:00.0") == 1)
        #expect(try kernel.readInventory().inventory.devices.map(\.uuid) == [first])
        #expect(thrownErrno { try kernel.create(first, type: "nvidia-228", on: "0000:3b:00.0") } == .fileExists)
        try kernel.create(UUID(), type: "nvidia-228", on: "0000:3b:00.0")
        #expect(thrownErrno { try kernel.create(UUID(), type: "nvidia-228", on: "0000:3b:00.0") } == .noSpace)
    }

    @Test("NVIDIA time-sliced: once a type has a device the others read 0 and refuse creates")
    func oneTypePerGPU() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        let device = UUID()
        try kernel.create(device, type: "nvidia-222", on: "0000:3b:00.0")
        #expect(try kernel.availableInstances(of: "nvidia-230", on: "0000:3b:00.0") == 0)
        #expect(thrownErrno { try kernel.create(UUID(), type: "nvidia-230", on: "0000:3b:00.0") } == .noSpace)
        try kernel.remove(device)
        #expect(try kernel.availableInstances(of: "nvidia-230", on: "0000:3b:00.0") == 16)
    }

    @Test("GVT-g and mtty: one pool shared by every type")
    func sharedPool() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        try kernel.create(UUID(), type: "mtty-2", on: "mtty")
        #expect(try kernel.availableInstances(of: "mtty-1", on: "mtty") == 22)
        #expect(try kernel.availableInstances(of: "mtty-2", on: "mtty") == 11)
        for _ in 0..<22 { try kernel.create(UUID(), type: "mtty-1", on: "mtty") }
        #expect(try kernel.availableInstances(of: "mtty-2", on: "mtty") == 0)
        #expect(thrownErrno { try kernel.create(UUID(), type: "mtty-2", on: "mtty") } == .noSpace)
    }

    @Test("Removing a held device blocks until the holder lets go, and is recorded as a violation")
    func removingHeldBlocks() async throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        let held = UUID()
        kernel.addDevice(held, type: "mtty-1", on: "mtty", holders: [DeviceHolder(pid: 1, command: "qemu")])
        let order = Recorder<String>()
        let location = try kernel.location(of: "mtty")
        DispatchQueue.global().async {
            do { try kernel.remove(held, at: location) } catch { order.record("failed: \(error)") }
            order.record("returned")
        }
        // The write is blocked in the kernel and has not returned.
        _ = try await kernel.blockedRemovals.first(from: 0) { $0 == held }
        #expect(kernel.state.withLock { $0.violations.count } == 1)
        order.record("released")
        kernel.setHolders([], of: held)
        _ = try await order.first(from: 0) { $0 == "returned" }
        #expect(order.all == ["released", "returned"])
        #expect(kernel.devices.isEmpty)
    }

    @Test("A parent going away fails creates and removes with ENODEV; a remove that failed leaves no remove file (ENOENT after)")
    func goingAway() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        let device = UUID()
        kernel.addDevice(device, type: "mtty-1", on: "mtty")
        let location = try kernel.location(of: "mtty")
        kernel.state.withLock { _ = $0.goingAway.insert("mtty") }
        #expect(thrownErrno { try kernel.create(UUID(), type: "mtty-1", at: location) } == .operationNotSupportedByDevice)
        #expect(thrownErrno { try kernel.remove(device, at: location) } == .operationNotSupportedByDevice)
        #expect(thrownErrno { try kernel.remove(device, at: location) } == .noSuchFileOrDirectory)
        #expect(kernel.devices.map(\.uuid) == [device])
    }

    @Test("Unplugging a parent with a held device keeps both until the holder lets go, then both go")
    func unplugWithHeldDevice() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        let held = UUID()
        kernel.addDevice(held, type: "mtty-1", on: "mtty", holders: [DeviceHolder(pid: 1, command: "qemu")])
        kernel.removeParent(named: "mtty")
        #expect(try kernel.readInventory().inventory.parents.map(\.name) == ["mtty"])
        #expect(kernel.devices.map(\.uuid) == [held])
        #expect(thrownErrno { try kernel.create(UUID(), type: "mtty-1", on: "mtty") } == .operationNotSupportedByDevice)
        kernel.setHolders([], of: held)
        #expect(try kernel.readInventory().inventory.parents.isEmpty)
        #expect(kernel.devices.isEmpty)
    }

    @Test("Injected faults are consumed in order")
    func faults() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        kernel.state.withLock { $0.createFaults["mtty"] = [.ioError] }
        #expect(thrownErrno { try kernel.create(UUID(), type: "mtty-1", on: "mtty") } == .ioError)
        try kernel.create(UUID(), type: "mtty-1", on: "mtty")
        #expect(throws: NotDiscoveredError.self) { try kernel.create(UUID(), type: "mtty-9", on: "mtty") }
    }

    @Test("A parent or device that went away since the reading fails the write with ENOENT, as its sysfs files are gone")
    func goneSinceTheReading() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        let device = UUID()
        kernel.addDevice(device, type: "mtty-1", on: "mtty")
        kernel.removeParent(named: "mtty")
        #expect(thrownErrno { try kernel.create(UUID(), type: "mtty-1", on: "mtty") } == .noSuchFileOrDirectory)
        #expect(thrownErrno { try kernel.remove(device) } == .noSuchFileOrDirectory)
        #expect(thrownErrno { _ = try kernel.availableInstances(of: "mtty-1", on: "mtty") } == .noSuchFileOrDirectory)
    }
}
