import CNVML
import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// MIG mode and GPU instances through NVML, against copies of the project's fake library: its rules, and
/// the preparer that makes a GPU ready for a MIG-backed type and only ever destroys what it made.
@Suite("MIG GPU instances through NVML")
struct MIGInstancePreparerTests {
    let a100s = "0000:41:00.0=a100-40gb;0000:42:00.0=a100-40gb"

    func open(_ library: String) throws -> NVMLLibrary {
        try NVMLLibrary.open(path: library)
    }

    func device(_ library: NVMLLibrary, _ address: String) throws -> NVMLLibrary.Device {
        try library.device(atPCIAddress: address)
    }

    /// The instances of every profile on a GPU, as `profile#id`.
    func instances(_ library: NVMLLibrary, _ address: String) throws -> [String] {
        try library.gpuInstances(try device(library, address)).map { "\($0.profileID)#\($0.id)" }.sorted()
    }

    @Test("The fake's rules: MIG only where the GPU has it, instances only with MIG mode on and while they fit, no MIG off under instances")
    func fakeRules() throws {
        let library = try open(try FakeNVML.library(gpus: "0000:3b:00.0=t4;0000:41:00.0=a100-40gb;0000:43:00.0=a100-40gb:reset"))
        let t4 = try device(library, "0000:3b:00.0"), a100 = try device(library, "0000:41:00.0")
        #expect(throws: NVMLError(function: "nvmlDeviceSetMigMode", code: NVML_ERROR_NOT_SUPPORTED.rawValue, message: "Not Supported")) {
            _ = try library.setMIGMode(t4, enabled: true)
        }
        #expect(throws: NVMLError(function: "nvmlDeviceCreateGpuInstance", code: NVML_ERROR_NOT_SUPPORTED.rawValue, message: "Not Supported")) {
            _ = try library.createGPUInstance(a100, profileID: 19)
        }
        #expect(try library.setMIGMode(a100, enabled: true) == nil)
        #expect(try library.migMode(a100) == (current: true, pending: true))
        #expect(try library.gpuInstanceRemainingCapacity(a100, profileID: 19) == 7)
        let made = try (0..<7).map { _ in try library.createGPUInstance(a100, profileID: 19) }
        #expect(made.map(\.id) == [1, 2, 3, 4, 5, 6, 7])
        #expect(made.map(\.placementStart) == [0, 1, 2, 3, 4, 5, 6])
        #expect(throws: NVMLError(function: "nvmlDeviceCreateGpuInstance", code: NVML_ERROR_INSUFFICIENT_RESOURCES.rawValue, message: "Insufficient resources")) {
            _ = try library.createGPUInstance(a100, profileID: 19)
        }
        #expect(try library.gpuInstanceRemainingCapacity(a100, profileID: 19) == 0)
        #expect(throws: NVMLError(function: "nvmlDeviceSetMigMode", code: NVML_ERROR_IN_USE.rawValue, message: "In use by another client")) {
            _ = try library.setMIGMode(a100, enabled: false)
        }
        // With an instance of its profile, the MIG-backed type is creatable.
        #expect(try library.creatableVgpuTypes(a100) == [700])
        try library.destroyGPUInstance(a100, id: 3)
        try library.destroyGPUInstance(a100, id: 3)  // gone already: not an error
        #expect(try library.createGPUInstance(a100, profileID: 19).id == 3)
        // Every change is saved, ids with it.
        #expect(FakeNVML.state(of: library.path)?.contains("0000:41:00.0=a100-40gb:mig:gi=19#1/19#2/19#3/19#4/19#5/19#6/19#7") == true)
        // A GPU that needs a reset: the mode is pending, not in effect.
        let ampere = try device(library, "0000:43:00.0")
        #expect(try library.setMIGMode(ampere, enabled: true)?.code == NVML_ERROR_RESET_REQUIRED.rawValue)
        #expect(try library.migMode(ampere) == (current: false, pending: true))
    }

    @Test("Two A100s: MIG mode on and seven 1g.5gb instances each, recorded; a restart creates none; a reboot creates them again")
    func prepareRestartReboot() throws {
        let recordPath = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: recordPath) }
        let first = try FakeNVML.library(gpus: a100s)
        do {
            let preparer = MIGInstancePreparer(library: try open(first), record: VendorVGPURecord(path: recordPath), bootID: "boot-1")
            for gpu in ["0000:41:00.0", "0000:42:00.0"] {
                #expect(preparer.prepare(gpu: gpu, profileID: 19, count: 7, gpuHasVGPUs: false) == .ready(instances: 7, created: 7))
                #expect(try instances(preparer.library, gpu) == (1...7).map { "19#\($0)" })
                #expect(try preparer.library.creatableVgpuTypes(try device(preparer.library, gpu)) == [700])
            }
        }
        let record = VendorVGPURecord(path: recordPath)
        #expect(record.createdGPUInstances(on: "0000:41:00.0", bootID: "boot-1").map(\.id) == Array(1...7))

        // The daemon starts again: the same host, the same record, nothing new.
        let restarted = try FakeNVML.restarted(first)
        let again = MIGInstancePreparer(library: try open(restarted), record: record, bootID: "boot-1")
        #expect(again.prepare(gpu: "0000:41:00.0", profileID: 19, count: 7, gpuHasVGPUs: false) == .ready(instances: 7, created: 0))
        #expect(try instances(again.library, "0000:41:00.0").count == 7)

        // A reboot: instances gone (and their ids free for anyone); the record's, from another boot, are forgotten.
        let rebooted = try FakeNVML.rebooted(restarted)
        let afterReboot = MIGInstancePreparer(library: try open(rebooted), record: record, bootID: "boot-2")
        #expect(try instances(afterReboot.library, "0000:41:00.0").isEmpty)
        #expect(afterReboot.prepare(gpu: "0000:41:00.0", profileID: 19, count: 7, gpuHasVGPUs: false) == .ready(instances: 7, created: 7))
        #expect(record.createdGPUInstances(on: "0000:41:00.0", bootID: "boot-2").count == 7)
        #expect(record.createdGPUInstances(on: "0000:41:00.0", bootID: "boot-1").isEmpty)
    }

    @Test("Hopper loses MIG mode at a reboot: the preparer turns it on again, for a GPU without vGPUs only")
    func hopperReboot() throws {
        let first = try FakeNVML.library(gpus: "0000:42:00.0=h100-80gb")
        let record = VendorVGPURecord(path: nil)
        let preparer = MIGInstancePreparer(library: try open(first), record: record, bootID: "boot-1")
        #expect(preparer.prepare(gpu: "0000:42:00.0", profileID: 15, count: 4, gpuHasVGPUs: false) == .ready(instances: 4, created: 4))
        let rebooted = try FakeNVML.rebooted(first)
        let library = try open(rebooted)
        #expect(try library.migMode(try device(library, "0000:42:00.0")) == (current: false, pending: false))
        let afterReboot = MIGInstancePreparer(library: library, record: record, bootID: "boot-2")
        #expect(afterReboot.prepare(gpu: "0000:42:00.0", profileID: 15, count: 4, gpuHasVGPUs: true) == .gpuHasVGPUs)
        #expect(try library.migMode(try device(library, "0000:42:00.0")).current == false)
        #expect(afterReboot.prepare(gpu: "0000:42:00.0", profileID: 15, count: 4, gpuHasVGPUs: false) == .ready(instances: 4, created: 4))
    }

    @Test("Another program's instance is kept and counted; release destroys only this program's, never one in use")
    func foreignAndInUse() throws {
        // Another program made a 2g.10gb instance (two slices, id 9) and a 1g.5gb one (id 8).
        let library = try open(try FakeNVML.library(gpus: "0000:41:00.0=a100-40gb:mig:gi=14#9/19#8"))
        let preparer = MIGInstancePreparer(library: library, record: VendorVGPURecord(path: nil), bootID: "boot-1")
        // Room for four more 1g.5gb: five of the profile in all.
        #expect(preparer.prepare(gpu: "0000:41:00.0", profileID: 19, count: 7, gpuHasVGPUs: false) == .ready(instances: 5, created: 4))
        #expect(try instances(library, "0000:41:00.0") == ["14#9", "19#1", "19#2", "19#3", "19#4", "19#8"])
        let release = preparer.release(gpu: "0000:41:00.0", keeping: [2])
        #expect(release == MIGInstancePreparer.Release(destroyed: [1, 3, 4], kept: [2], failure: nil))
        #expect(try instances(library, "0000:41:00.0") == ["14#9", "19#2", "19#8"])
        // A foreign instance that took a recorded id is not this program's: same id, other profile or place.
        let gpu = try device(library, "0000:41:00.0")
        try library.destroyGPUInstance(gpu, id: 2)
        #expect(try library.createGPUInstance(gpu, profileID: 19).id == 1)
        #expect(try library.createGPUInstance(gpu, profileID: 14).id == 2)
        #expect(preparer.release(gpu: "0000:41:00.0", keeping: []).destroyed.isEmpty)
    }

    @Test("A GPU that needs a reset for MIG mode is reported, not reset; nothing is created")
    func needsReset() throws {
        let library = try open(try FakeNVML.library(gpus: "0000:41:00.0=a100-40gb:reset"))
        let preparer = MIGInstancePreparer(library: library, record: VendorVGPURecord(path: nil), bootID: "boot-1")
        #expect(preparer.prepare(gpu: "0000:41:00.0", profileID: 19, count: 7, gpuHasVGPUs: false) == .needsReset)
        #expect(preparer.prepare(gpu: "0000:41:00.0", profileID: 19, count: 7, gpuHasVGPUs: false) == .needsReset)
        #expect(try library.migMode(try device(library, "0000:41:00.0")) == (current: false, pending: true))
        #expect(preparer.prepare(gpu: "0000:99:00.0", profileID: 19, count: 7, gpuHasVGPUs: false) == .unknownGPU)
    }

    @Test("The test bed's sim-mig GPU: every change is written to the file .mirror names, as the test driver's vendor-mig command")
    func mirrorToTheTestDriver() throws {
        let copy = try FakeNVML.library(gpus: "0000:01:00.0=sim-mig;0000:41:00.0=a100-40gb")
        let control = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: control) }
        try (control + "\n").write(toFile: copy + ".mirror", atomically: true, encoding: .utf8)
        let library = try open(copy)
        let sim = try device(library, "0000:01:00.0")
        #expect(try library.setMIGMode(sim, enabled: true) == nil)
        #expect(try String(contentsOfFile: control, encoding: .utf8) == "vendor-mig 0000:01:00.0 1 0 0\n")
        _ = try library.createGPUInstance(sim, profileID: 19)
        _ = try library.createGPUInstance(sim, profileID: 14)
        #expect(try String(contentsOfFile: control, encoding: .utf8) == "vendor-mig 0000:01:00.0 1 1 1\n")
        // Its MIG-backed types are those of the test driver, with their profiles.
        #expect(try library.creatableVgpuTypes(sim) == [2011, 2012])
        #expect(try library.vgpuTypeGPUInstanceProfile(2011) == 19 && library.vgpuTypeName(2012) == "NVIDIA SIM-2-4C")
        // Another model's change writes nothing of its own there.
        #expect(try library.setMIGMode(try device(library, "0000:41:00.0"), enabled: true) == nil)
        #expect(try String(contentsOfFile: control, encoding: .utf8) == "vendor-mig 0000:01:00.0 1 1 1\n")
    }

    func temporaryFile() -> String {
        temporaryPath("mdev-mig-record-" + UUID().uuidString + ".json")
    }
}
