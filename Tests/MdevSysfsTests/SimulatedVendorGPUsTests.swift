import MdevModel
import MdevSysfs
import MdevTestSupport
import SystemPackage
import Testing

/// The simulated vendor-specific GPU enforces the driver's rules, so tests built on it mean something.
@Suite("The simulated vendor-specific GPU")
struct SimulatedVendorGPUsTests {
    let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])

    func listed(_ function: String) throws -> [String] {
        try CreatableVGPUTypes.parse(gpus.creatableTypes(of: function)).map(\.name)
    }

    @Test("A free GPU lists the whole catalog; one type collapses the others' lists to its size, every series")
    func collapse() throws {
        #expect(try listed("0000:3d:00.5").count == 23)
        try gpus.setCurrentType("1148", of: "0000:3d:00.4")  // L40S-2Q
        #expect(try listed("0000:3d:00.5") == ["NVIDIA L40S-2B", "NVIDIA L40S-2Q", "NVIDIA L40S-2A"])
        #expect(try listed("0000:3d:00.4").isEmpty)  // A configured function lists nothing.
        #expect(try gpus.currentType(of: "0000:3d:00.4") == "1148\n")
    }

    @Test("A full GPU lists the header only on every free function")
    func full() throws {
        try gpus.setCurrentType("1156", of: "0000:3d:00.4")  // L40S-48Q
        #expect(try gpus.creatableTypes(of: "0000:3d:00.5") == "ID    : vGPU Name\n")
        #expect(thrownErrno { try gpus.setCurrentType("1156", of: "0000:3d:00.5") } == .invalidArgument)
        #expect(try gpus.currentType(of: "0000:3d:00.5") == "0\n")
    }

    @Test("An unlisted number fails with EINVAL and leaves 0; a configured function must be cleared first")
    func writes() throws {
        #expect(thrownErrno { try gpus.setCurrentType("999", of: "0000:3d:00.4") } == .invalidArgument)
        #expect(try gpus.currentType(of: "0000:3d:00.4") == "0\n")
        try gpus.setCurrentType("1150", of: "0000:3d:00.4")
        #expect(thrownErrno { try gpus.setCurrentType("1150", of: "0000:3d:00.4") } == .resourceBusy)
        try gpus.setCurrentType("0", of: "0000:3d:00.4")
        try gpus.setCurrentType("1145", of: "0000:3d:00.4")
        #expect(try gpus.currentType(of: "0000:3d:00.4") == "1145\n")
    }

    @Test("Clearing a held function is refused with EPERM and a recorded violation; right after release it fails with EPERM as often as asked")
    func clearing() throws {
        try gpus.setCurrentType("1150", of: "0000:3d:00.4")
        gpus.setHolders([DeviceHolder(pid: 7, command: "qemu")], of: "0000:3d:00.4")
        #expect(thrownErrno { try gpus.setCurrentType("0", of: "0000:3d:00.4") } == .notPermitted)
        #expect(gpus.state.withLock { $0.violations }.count == 1)
        #expect(gpus.state.withLock { $0.current["0000:3d:00.4"] } == 1150)
        gpus.release("0000:3d:00.4", refusingClears: 2)
        #expect(thrownErrno { try gpus.setCurrentType("0", of: "0000:3d:00.4") } == .notPermitted)
        #expect(thrownErrno { try gpus.setCurrentType("0", of: "0000:3d:00.4") } == .notPermitted)
        try gpus.setCurrentType("0", of: "0000:3d:00.4")
        #expect(try gpus.currentType(of: "0000:3d:00.4") == "0\n")
    }

    @Test("The user guide's layout lists name then number")
    func guideLayout() throws {
        let a40 = SimulatedVendorGPUs(gpus: [VendorProfiles.a40("0000:41:00.0")])
        #expect(try a40.creatableTypes(of: "0000:41:00.4").hasPrefix("NVIDIA A40-1Q 557\nNVIDIA A40-2Q 558\n"))
    }
}
