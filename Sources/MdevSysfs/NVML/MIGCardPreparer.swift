import CNVML
import MdevModel

/// Makes NVIDIA GPUs in vendor-specific mode ready for the MIG-backed vGPU type the plan gives them
/// (`mdevReconciler.manageMIG`), through ``MIGInstancePreparer``, and takes back the GPU instances this
/// program made that no type planned needs any more.
///
/// - A GPU is prepared only while the plan for it has fewer devices of its type than it can hold (the
///   type's NVML capacity, at most one per virtual function): MIG mode on, then GPU instances of the type's
///   profile until that many exist or no more fit. The functions then list the type and the same pass
///   creates the vGPUs.
/// - MIG mode is turned on only for a GPU without vGPUs. One whose vGPUs the plan removes in this round is
///   prepared in the next, after the removals; one holding vGPUs that stay is reported.
/// - A GPU instance is destroyed only when this program recorded it as its own, the planned type does not
///   use its profile, and no vGPU on the GPU has a type of that profile (a vGPU in use holds its instance;
///   which instance a vGPU sits on is not read, so every instance of its profile stays).
/// - MIG mode is never turned off, and a GPU is never reset.
public struct MIGCardPreparer: CardPreparing {
    /// NVIDIA's library (``NVMLLibrary/configuredPath``), opened the first time a GPU needs it.
    public let libraryPath: String
    /// Where the GPU instances this program created are recorded: the vendor backend's record.
    public let record: VendorVGPURecord
    /// This boot's id (``bootID(procRoot:)``); nil when it could not be read, and then nothing is prepared:
    /// instances could not be told from those of an earlier boot.
    public let bootID: String?

    public init(libraryPath: String = NVMLLibrary.configuredPath, record: VendorVGPURecord, bootID: String?) {
        self.libraryPath = libraryPath
        self.record = record
        self.bootID = bootID
    }

    /// `/proc/sys/kernel/random/boot_id` under `procRoot`, or nil when it cannot be read.
    public static func bootID(procRoot: String) -> String? {
        let path = procRoot.appending("sys/kernel/random/boot_id")
        guard let text = try? FileSystem.readText(path, inside: ConfinedRoot(procRoot)) else { return nil }
        let id = text.trimmingSpaces()
        return id.isEmpty ? nil : id
    }

    public func prepare(_ plan: Plan, inventory: Inventory) -> CardPreparation {
        var preparation = CardPreparation()
        for gpu in Self.gpus(plan, inventory) { prepare(gpu, &preparation) }
        return preparation
    }

    /// The GPUs `plan` gives a MIG-backed type they have fewer GPU instances for than it plans devices: what
    /// ``prepare(_:inventory:)`` would make ready (MIG mode, instances). `plan` shows them, as it prepares nothing.
    public static func cardsToPrepare(_ plan: Plan, inventory: Inventory) -> Set<String> {
        Set(gpus(plan, inventory).filter { $0.wantedInstances != nil }.map(\.name))
    }

    /// Every NVIDIA GPU with MIG, with its functions and their plans, by name.
    private static func gpus(_ plan: Plan, _ inventory: Inventory) -> [GPU] {
        let gpus = Dictionary(grouping: inventory.parents.filter { $0.interface == .nvidiaVendorSpecific && $0.migEnabled != nil }, by: \.card)
        let plans = Dictionary(grouping: plan.parents, by: \.card)
        return gpus.sorted(by: { $0.key < $1.key }).map { GPU(name: $0.key, functions: $0.value, plans: plans[$0.key] ?? []) }
    }

    /// One GPU: its virtual functions as read and as planned.
    struct GPU {
        var name: String
        var functions: [Parent]
        var plans: [ParentPlan]

        /// The planned type, when the plan gives the GPU one.
        var target: MdevType? {
            guard let id = plans.lazy.compactMap(\.type).first else { return nil }
            return functions.lazy.compactMap { $0.type(withID: id) }.first
        }

        var migEnabled: Bool { functions.contains { $0.migEnabled == true } }

        /// The GPU-instance profiles the GPU's vGPUs need; nil when a vGPU's type is not known to be
        /// time-sliced or of a profile (every instance then stays).
        var heldProfiles: Set<Int>? {
            var held = Set<Int>()
            for function in functions {
                for device in function.devices {
                    guard let type = function.type(withID: device.type) else { return nil }
                    if let profile = type.gpuInstanceProfile {
                        held.insert(profile)
                    } else if migEnabled {
                        // With MIG mode on every vGPU is MIG-backed: a type without a profile is not understood.
                        return nil
                    }
                }
            }
            return held
        }

        /// How many devices of the target type the plan leaves the GPU with.
        var planned: Int {
            plans.reduce(0) { sum, plan in sum + plan.keep.filter { $0.type == plan.type }.count + plan.create.count }
        }

        /// Whether every vGPU of the GPU is planned for removal.
        var removesEveryVGPU: Bool {
            plans.allSatisfy { plan in plan.keep.allSatisfy { kept in plan.remove.contains(kept) } }
        }

        var hasVGPUs: Bool { functions.contains { !$0.devices.isEmpty } }

        /// How many devices of its MIG-backed target type the GPU should hold (one per function, at most its
        /// capacity) when the plan leaves it fewer; nil when it has no such target or has them all.
        var wantedInstances: Int? {
            guard let target, target.gpuInstanceProfile != nil else { return nil }
            let wanted = min(target.maxInstances ?? functions.count, functions.count)
            return planned < wanted ? wanted : nil
        }
    }

    private func prepare(_ gpu: GPU, _ preparation: inout CardPreparation) {
        let target = gpu.target
        let profile = target?.gpuInstanceProfile
        let recorded = bootID.map { record.createdGPUInstances(on: gpu.name, bootID: $0) } ?? []
        let unneeded = gpu.heldProfiles.map { held in
            recorded.filter { Int($0.profileID) != profile && !held.contains(Int($0.profileID)) }
        } ?? []
        if !unneeded.isEmpty { release(gpu, recorded: recorded, unneeded: unneeded, &preparation) }
        guard let target, let profile, let wanted = gpu.wantedInstances else { return }
        let typeName = target.name ?? target.id
        guard let bootID else {
            preparation.problems[gpu.name] = notReady(gpu.name, typeName, "the boot id cannot be read, so GPU instances this program "
                + "creates could not be told from an earlier boot's")
            return
        }
        if !gpu.migEnabled && gpu.hasVGPUs {
            // Its vGPUs go in this round: MIG mode comes in the next one.
            if gpu.removesEveryVGPU { return }
            preparation.problems[gpu.name] = notReady(gpu.name, typeName, Self.migOffWithVGPUs + "; this GPU keeps some (in use, or another program's)")
            return
        }
        let library: NVMLLibrary
        switch NVMLLibrary.shared(path: libraryPath) {
        case .success(let opened): library = opened
        case .failure(let unavailable):
            preparation.problems[gpu.name] = notReady(gpu.name, typeName, "\(unavailable)")
            return
        }
        let preparer = MIGInstancePreparer(library: library, record: record, bootID: bootID)
        let outcome = preparer.prepare(gpu: gpu.name, profileID: UInt32(profile), count: wanted, gpuHasVGPUs: gpu.hasVGPUs)
        switch outcome {
        case .ready(let instances, let created):
            if !gpu.migEnabled {
                preparation.changed.insert(gpu.name)
                preparation.done.append(.init(card: gpu.name, "turned MIG mode on for GPU \(gpu.name), for \(typeName)"))
            }
            if created > 0 {
                preparation.changed.insert(gpu.name)
                preparation.done.append(.init(card: gpu.name, "created \(created) GPU instance\(created == 1 ? "" : "s") of profile \(profile) on GPU \(gpu.name) "
                    + "for \(typeName); it has \(instances)"))
            }
            if instances < wanted {
                preparation.warnings.append("GPU \(gpu.name) has room for \(instances) GPU instance\(instances == 1 ? "" : "s") of profile "
                    + "\(profile), not \(wanted): other GPU instances (another program's, or this program's still holding vGPUs) take the rest")
            }
        case .gpuHasVGPUs:
            preparation.problems[gpu.name] = notReady(gpu.name, typeName, Self.migOffWithVGPUs)
        case .needsReset:
            preparation.problems[gpu.name] = needsReset(gpu.name, typeName)
        case .unknownGPU:
            preparation.problems[gpu.name] = notReady(gpu.name, typeName, "NVML does not know it")
        case .failed(let reason, let created):
            if created > 0 { preparation.changed.insert(gpu.name) }
            preparation.problems[gpu.name] = notReady(gpu.name, typeName, reason)
        }
    }

    /// Turns MIG mode on for a GPU whose virtual functions are about to be enabled, when it is to get a
    /// MIG-backed type (the driver's order: MIG mode on, then `sriov-manage -e`, then GPU instances): the
    /// remembered type when it is wanted and the GPU has it, else when every wanted type the GPU has is
    /// MIG-backed. A GPU without functions has no vGPU. Anything NVML cannot answer leaves MIG mode to the
    /// passes after the functions exist.
    public func prepareBeforeParents(card gpu: String, wanted: [String], remembered: String?) -> CardPreparation {
        var preparation = CardPreparation()
        guard case .success(let library) = NVMLLibrary.shared(path: libraryPath),
            let device = try? library.knownDevice(atPCIAddress: gpu),
            let stated = try? NVMLVGPUTypeCatalog(path: libraryPath).types(ofGPU: gpu), stated.hasMIG, !stated.migEnabled
        else { return preparation }
        /// The GPU's type a config reference names (`nvidia-700`, `NVIDIA_A100-1-5C`).
        func type(_ reference: String) -> DriverVGPUTypes.VGPUType? {
            stated.types.first { MdevType(id: VGPUTypeListing.typeID(number: $0.number), name: $0.name, availableInstances: 0).isNamed(by: reference) }
        }
        let supported = wanted.compactMap(type)
        let target: DriverVGPUTypes.VGPUType?
        if let remembered, wanted.contains(remembered), let kept = type(remembered) {
            target = kept
        } else {
            target = supported.allSatisfy { $0.gpuInstanceProfile != nil } ? supported.first : nil
        }
        guard let target, target.gpuInstanceProfile != nil else { return preparation }
        do throws(NVMLError) {
            if try library.migMode(device).pending {
                preparation.problems[gpu] = needsReset(gpu, target.name)
            } else if let activation = try library.setMIGMode(device, enabled: true) {
                preparation.problems[gpu] = activation.code == NVML_ERROR_RESET_REQUIRED.rawValue
                    ? needsReset(gpu, target.name) : notReady(gpu, target.name, "\(activation)")
            } else {
                preparation.done.append(.init(card: gpu, "turned MIG mode on for GPU \(gpu) before enabling its virtual functions, for \(target.name)"))
            }
        } catch {
            preparation.problems[gpu] = notReady(gpu, target.name, "\(error)")
        }
        return preparation
    }

    /// Why a GPU is left as it is, in one form for every reason.
    private func notReady(_ gpu: String, _ typeName: String, _ reason: String) -> String {
        "GPU \(gpu) is not made ready for \(typeName): \(reason)"
    }

    private static let migOffWithVGPUs = "its MIG mode is off, and it is turned on only for a GPU without vGPUs"

    private func needsReset(_ gpu: String, _ typeName: String) -> String {
        "GPU \(gpu) needs a reset for MIG mode to take effect; mdev-reconciler never resets a GPU: reset it while it is idle "
            + "(nvidia-smi -r -i \(gpu); with its virtual functions disabled first, sriov-manage -d \(gpu)) and \(typeName) follows"
    }

    /// Destroys this program's GPU instances in `unneeded`, keeping every other recorded one.
    private func release(_ gpu: GPU, recorded: [VendorVGPURecord.CreatedGPUInstance], unneeded: [VendorVGPURecord.CreatedGPUInstance],
                         _ preparation: inout CardPreparation) {
        guard let bootID, case .success(let library) = NVMLLibrary.shared(path: libraryPath) else { return }
        let keeping = Set(recorded.map(\.id)).subtracting(unneeded.map(\.id))
        let release = MIGInstancePreparer(library: library, record: record, bootID: bootID).release(gpu: gpu.name, keeping: keeping)
        if !release.destroyed.isEmpty {
            preparation.changed.insert(gpu.name)
            preparation.done.append(.init(card: gpu.name, "destroyed GPU instance\(release.destroyed.count == 1 ? "" : "s") "
                + "\(release.destroyed.map(String.init).joined(separator: ", ")) of GPU \(gpu.name): this program created them and no planned type needs them"))
        }
        if let failure = release.failure {
            preparation.warnings.append("cannot destroy the GPU instances this program created on GPU \(gpu.name): \(failure)")
        }
    }
}
