import CNVML
import MdevModel

/// Makes an NVIDIA GPU ready for a MIG-backed vGPU type through NVML, and takes back what it made: MIG mode
/// on, then GPU instances of the type's profile, as many as asked for and as fit. The driver fixes the order
/// around it: MIG mode on → `sriov-manage -e` (it rebinds the GPU and wipes its GPU instances) → GPU
/// instances → `current_vgpu_type` of one free virtual function per instance; this does the NVML steps.
///
/// - MIG mode is turned on only for a GPU with no vGPU. A GPU that needs a reset for it (some Ampere hosts:
///   the mode is then pending) is reported, never reset.
/// - Only GPU instances this program created are ever destroyed: they are recorded (``VendorVGPURecord``)
///   with their id, profile and placement and the boot they were made in, since ids are handed out again
///   after a reboot or a driver reload. Another program's instances are kept, and counted towards the number
///   asked for when they have the profile.
public struct MIGInstancePreparer: Sendable {
    public let library: NVMLLibrary
    public let record: VendorVGPURecord
    /// This boot's `/proc/sys/kernel/random/boot_id`: instances recorded in another boot are gone.
    public let bootID: String

    public init(library: NVMLLibrary, record: VendorVGPURecord, bootID: String) {
        self.library = library
        self.record = record
        self.bootID = bootID
    }

    /// What ``prepare(gpu:profileID:count:gpuHasVGPUs:)`` found or did.
    public enum Outcome: Sendable, Hashable {
        /// The GPU has `instances` GPU instances of the profile, `created` of them just now.
        case ready(instances: Int, created: Int)
        /// MIG mode is off and the GPU has vGPUs: it is turned on only for a GPU without any.
        case gpuHasVGPUs
        /// MIG mode is on only after a GPU reset, which this program never does.
        case needsReset
        /// NVML does not know the GPU.
        case unknownGPU
        /// A call failed (NVML's words), or the record could not be written; `created` instances were made first.
        case failed(String, created: Int)
    }

    /// MIG mode on (when the GPU has no vGPU), then GPU instances of `profileID` until the GPU has `count` of
    /// them or no more fit.
    public func prepare(gpu address: String, profileID: UInt32, count wanted: Int, gpuHasVGPUs: Bool) -> Outcome {
        var created = 0
        do throws(PreparationError) {
            guard var device = try find(address) else { return .unknownGPU }
            let mode = try call { () throws(NVMLError) in try library.migMode(device) }
            if !mode.current {
                if gpuHasVGPUs { return .gpuHasVGPUs }
                if mode.pending { return .needsReset }
                if let activation = try call({ () throws(NVMLError) in try library.setMIGMode(device, enabled: true) }) {
                    if activation.code == NVML_ERROR_RESET_REQUIRED.rawValue { return .needsReset }
                    throw .nvml(activation)
                }
                // Turning MIG mode on may unbind or reset the GPU: NVML asks callers to look it up again.
                guard let again = try find(address) else { return .unknownGPU }
                device = again
            }
            let existing = try instances(device)
            var ours = try ownInstances(on: address, existing: existing)
            var count = existing.filter { $0.profileID == profileID }.count
            while count < wanted {
                let made: NVMLLibrary.GPUInstance
                switch Result(catching: { () throws(NVMLError) in try library.createGPUInstance(device, profileID: profileID) }) {
                case .success(let instance): made = instance
                case .failure(let error) where error.code == NVML_ERROR_INSUFFICIENT_RESOURCES.rawValue: return .ready(instances: count, created: created)
                case .failure(let error): throw .nvml(error)
                }
                created += 1
                count += 1
                ours.append(VendorVGPURecord.CreatedGPUInstance(id: made.id, profileID: made.profileID, placementStart: made.placementStart))
                try save(ours, on: address)
            }
            return .ready(instances: count, created: created)
        } catch {
            return .failed(error.description, created: created)
        }
    }

    /// What ``release(gpu:keeping:)`` did.
    public struct Release: Sendable, Hashable {
        public var destroyed: [UInt32] = []
        /// This program's instances left in place: asked to be kept (a function in use has a vGPU on them),
        /// or refused by the driver (in use).
        public var kept: [UInt32] = []
        public var failure: String?
    }

    /// Destroys the GPU instances this program created on the GPU, except those with an id in `inUse`; never
    /// another program's.
    public func release(gpu address: String, keeping inUse: Set<UInt32>) -> Release {
        var release = Release()
        do throws(PreparationError) {
            guard let device = try find(address) else { return release }
            let existing = try instances(device)
            var ours = try ownInstances(on: address, existing: existing)
            for instance in ours {
                if inUse.contains(instance.id) {
                    release.kept.append(instance.id)
                    continue
                }
                switch Result(catching: { () throws(NVMLError) in try library.destroyGPUInstance(device, id: instance.id) }) {
                case .success:
                    release.destroyed.append(instance.id)
                    ours.removeAll { $0 == instance }
                    try save(ours, on: address)
                case .failure(let error) where error.code == NVML_ERROR_IN_USE.rawValue:
                    release.kept.append(instance.id)
                case .failure(let error):
                    throw .nvml(error)
                }
            }
        } catch {
            release.failure = error.description
        }
        return release
    }

    // MARK: - Plumbing

    private enum PreparationError: Error, CustomStringConvertible {
        case nvml(NVMLError)
        case record(String)

        var description: String {
            switch self {
            case .nvml(let error): return "\(error)"
            case .record(let reason): return reason
            }
        }
    }

    private func call<T>(_ body: () throws(NVMLError) -> T) throws(PreparationError) -> T {
        do { return try body() } catch { throw .nvml(error) }
    }

    private func find(_ address: String) throws(PreparationError) -> NVMLLibrary.Device? {
        try call { () throws(NVMLError) in try library.knownDevice(atPCIAddress: address) }
    }

    private func instances(_ device: NVMLLibrary.Device) throws(PreparationError) -> [NVMLLibrary.GPUInstance] {
        try call { () throws(NVMLError) in try library.gpuInstances(device) }
    }

    /// The recorded instances that still exist as recorded; the record forgets the others (a reboot, a driver
    /// reload, someone destroying them). The record saves only when that changed it.
    private func ownInstances(on address: String, existing: [NVMLLibrary.GPUInstance]) throws(PreparationError) -> [VendorVGPURecord.CreatedGPUInstance] {
        let recorded = record.createdGPUInstances(on: address, bootID: bootID)
        let present = recorded.filter { own in
            existing.contains { $0.id == own.id && $0.profileID == own.profileID && $0.placementStart == own.placementStart }
        }
        try save(present, on: address)
        return present
    }

    private func save(_ instances: [VendorVGPURecord.CreatedGPUInstance], on address: String) throws(PreparationError) {
        do {
            try record.setCreatedGPUInstances(instances, on: address, bootID: bootID)
        } catch {
            throw .record("\(error)")
        }
    }
}
