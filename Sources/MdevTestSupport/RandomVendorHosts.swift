import Foundation
import MdevModel
import MdevSysfs

/// Random hosts in NVIDIA's vendor-specific mode for property tests: one to three L40S- or A40-like GPUs,
/// seen free once (as after a boot), then some functions given one size per GPU, by this program or by
/// another, some held by VMs; and a wanted-type list drawn from the catalogs plus unknown names.
public enum RandomVendorHosts {
    public struct Case: Sendable {
        public var gpus: SimulatedVendorGPUs
        public var backend: VendorVGPUBackend
        public var types: [String]
        /// Each configured function's type number, and whether a VM held it, before the test.
        public var initial: [String: (number: Int, held: Bool, ours: Bool)]
    }

    public static func make(seed: UInt64, hostKey: HostKey) throws -> Case {
        var random = SeededRandom(seed: seed)
        var specs: [SimulatedVendorGPUs.GPU] = []
        for index in 0..<Int.random(in: 1...3, using: &random) {
            let address = String(format: "0000:%02x:00.0", 0x3d + index)
            specs.append(Bool.random(using: &random) ? VendorProfiles.l40s(address) : VendorProfiles.a40(address))
        }
        let gpus = SimulatedVendorGPUs(gpus: specs)
        let backend = VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil)) { _ in }
        _ = try backend.readInventory()  // Seen free: catalogs and framebuffers learnt.
        var initial: [String: (number: Int, held: Bool, ours: Bool)] = [:]
        var pid: Int32 = 1000
        for gpu in specs where Bool.random(using: &random) {
            let listing = gpu.catalog.randomElement(using: &random)!
            for function in gpu.functions.prefix(Int.random(in: 1...4, using: &random)) {
                guard (try? gpus.creatableTypes(of: function))?.contains(listing.name) == true else { break }
                let ours = Int.random(in: 0..<3, using: &random) > 0
                if ours {
                    let location = try backend.readParents([function]).locations[function]!
                    try backend.create(hostKey.deviceUUID(parent: function, type: listing.typeID, slot: 0), type: listing.typeID, at: location)
                } else {
                    gpus.configure(function, number: listing.number)
                }
                let held = Int.random(in: 0..<4, using: &random) == 0
                if held {
                    gpus.setHolders([DeviceHolder(pid: pid, command: "qemu-system-x86")], of: function)
                    pid += 1
                }
                initial[function] = (listing.number, held, ours)
            }
        }
        let known = Array(Set(specs.flatMap { $0.catalog.map(\.typeID) })).sorted()
        let names = Array(Set(specs.flatMap { $0.catalog.map { $0.name.replacingOccurrences(of: " ", with: "_") } })).sorted()
        let candidates = known + names + ["nvidia-999", "GRID_T4-1B"]
        let types = (0..<Int.random(in: 1...3, using: &random)).map { _ in candidates.randomElement(using: &random)! }
        return Case(gpus: gpus, backend: backend, types: types, initial: initial)
    }
}
