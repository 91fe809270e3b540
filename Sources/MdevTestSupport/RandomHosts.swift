import Foundation
import MdevModel

/// Random hosts and configs for property tests: a mix of card models, existing devices (ours and
/// foreign, some in use), and a wanted-type list drawn from the host's types plus unknown names.
public enum RandomHosts {
    public struct Case: Sendable {
        public var kernel: SimulatedKernel
        public var types: [String]
        /// Devices that were on the host before.
        public var initialDevices: [SimulatedKernel.Device]
        /// Those of them another program made (random UUIDs), as the generator made them: the ground truth,
        /// not what the planner's ownership rule says.
        public var foreignDevices: Set<UUID>
    }

    public static func make(seed: UInt64, hostKey: HostKey) -> Case {
        var random = SeededRandom(seed: seed)
        var parents: [SimulatedKernel.ParentSpec] = []
        for index in 0..<Int.random(in: 1...5, using: &random) {
            let address = String(format: "0000:%02x:00.0", 0x3b + index)
            switch Int.random(in: 0..<11, using: &random) {
            case 0..<5: parents.append(HardwareProfiles.t4(address))
            case 5..<7: parents.append(HardwareProfiles.v100(address))
            case 7..<9: parents.append(HardwareProfiles.gvtg(address))
            case 9: parents += HardwareProfiles.a16(address)
            default: if !parents.contains(where: { $0.name == "mtty" }) { parents.append(HardwareProfiles.mtty()) }
            }
        }
        let kernel = SimulatedKernel(parents: parents)
        var pid: Int32 = 1000
        var foreign: Set<UUID> = []
        for parent in parents where Bool.random(using: &random) {
            let type = parent.types.randomElement(using: &random)!
            let available = (try? kernel.availableInstances(of: type.id, on: parent.name)) ?? 0
            let count = Int.random(in: 0...available, using: &random)
            var slots = Array(0..<(available + 2)).shuffled(using: &random)
            for _ in 0..<count {
                let uuid: UUID
                if Int.random(in: 0..<4, using: &random) == 0 {
                    uuid = UUID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
                    foreign.insert(uuid)
                } else {
                    uuid = hostKey.deviceUUID(parent: parent.name, type: type.id, slot: slots.removeFirst())
                }
                var holders: [DeviceHolder] = []
                if Int.random(in: 0..<5, using: &random) == 0 {
                    holders = [DeviceHolder(pid: pid, command: "qemu-system-x86")]
                    pid += 1
                }
                kernel.addDevice(uuid, type: type.id, on: parent.name, holders: holders)
            }
        }
        let known = Array(Set(parents.flatMap { $0.types.map(\.id) })).sorted()
        let candidates = known + ["nvidia-999", "GRID_T4-1B", "i915-GVTg_V5_8"]
        let types = (0..<Int.random(in: 1...4, using: &random)).map { _ in candidates.randomElement(using: &random)! }
        return Case(kernel: kernel, types: types, initialDevices: kernel.devices, foreignDevices: foreign)
    }
}

extension UUID {
    /// The UUID made of these 16 bytes.
    init(bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }
}
