import FoundationEssentials
import MdevModel
import Synchronization

/// What this program remembers about NVIDIA's vendor-specific mode, in one JSON file under its state
/// directory (`/var/lib/mdev-reconciler/nvidia-vgpu.json`, the unit's `StateDirectory=`):
/// - which virtual functions it configured, with which type, and the handle (a derived UUID) the plan
///   knows the vGPU by: a vGPU has no UUID of its own, so this is how one of ours is told from one
///   another program configured;
/// - each GPU model's types, as listed by any function ever: a configured GPU lists only types of its
///   current size, and a configured function lists none, but a config change may ask for another size and
///   a configured type must keep its name;
/// - each GPU model's framebuffer, learnt from the largest type a free GPU lists: what a type's capacity
///   is computed from;
/// - the MIG GPU instances it created, by GPU, with the boot they were created in: the only ones it
///   ever destroys (see ``MIGInstancePreparer``).
///
/// Written atomically after every change. Losing it is safe: a configured function no longer recorded is
/// treated as another program's (kept when its type is wanted, never reconfigured unless
/// `removeForeignDevices` is set), and type lists are learnt again when a GPU is free.
public final class VendorVGPURecord: Sendable {
    /// A function this program configured.
    public struct Configured: Sendable, Hashable, Codable {
        public var type: String
        public var handle: UUID
    }

    struct Contents: Sendable, Hashable, Codable {
        var version = 1
        /// By function name.
        var configured: [String: Configured] = [:]
        /// By PCI `vendor:device` id.
        var catalogs: [String: [VGPUTypeListing]] = [:]
        /// GB, by PCI `vendor:device` id.
        var framebuffers: [String: Int] = [:]
        /// By GPU address; absent in records written before MIG was managed.
        var gpuInstances: [String: CreatedGPUInstances]?
    }

    /// The GPU instances this program created on one GPU, in one boot (instances do not survive a reboot, and
    /// their ids are handed out again after one).
    public struct CreatedGPUInstances: Sendable, Hashable, Codable {
        /// `/proc/sys/kernel/random/boot_id` when they were created.
        public var bootID: String
        public var instances: [CreatedGPUInstance]
    }

    /// One GPU instance, as NVML described it when it was created: an instance with this id but another
    /// profile or placement is not this one.
    public struct CreatedGPUInstance: Sendable, Hashable, Codable {
        public var id: UInt32
        public var profileID: UInt32
        public var placementStart: UInt32
    }

    /// The file, or nil to keep the record in memory only.
    public let path: String?
    /// Whether changes stay in memory (commands that only look, such as `plan`).
    public let readOnly: Bool
    private let contents: LockedValue<Contents>
    /// Why the file could not be read when it was loaded, reported once with the next reading.
    private let loadProblem: LockedValue<String?>

    public init(path: String?, readOnly: Bool = false) {
        self.path = path
        self.readOnly = readOnly
        var contents = Contents()
        var problem: String?
        if let path, FileSystem.exists(path) {
            do {
                contents = try JSONFile.read(Contents.self, from: path)
            } catch {
                problem = "the vGPU record \(error); vGPUs it listed are treated as another program's"
            }
        }
        self.contents = LockedValue(contents)
        loadProblem = LockedValue(problem)
    }

    /// Why the file could not be read when it was loaded (it then counts as lost), once; nil when it was read.
    public func takeLoadProblem() -> String? {
        loadProblem.withLock { problem in
            defer { problem = nil }
            return problem
        }
    }

    func configured(_ function: String) -> Configured? {
        contents.withLock { $0.configured[function] }
    }

    /// Every function recorded as configured by this program.
    public var configuredFunctions: [String: Configured] { contents.withLock { $0.configured } }

    func catalog(_ pciID: String) -> [VGPUTypeListing] {
        contents.withLock { $0.catalogs[pciID] ?? [] }
    }

    /// Records (or, with nil, forgets) a function's configuration and saves.
    func set(_ configured: Configured?, for function: String) throws {
        try update { $0.configured[function] = configured }
    }

    /// The GPU instances this program created on a GPU, when it created them in this boot.
    func createdGPUInstances(on gpu: String, bootID: String) -> [CreatedGPUInstance] {
        contents.withLock { contents in
            guard let created = contents.gpuInstances?[gpu], created.bootID == bootID else { return [] }
            return created.instances
        }
    }

    /// Records the GPU instances this program created on a GPU in this boot (empty: none) and saves.
    func setCreatedGPUInstances(_ instances: [CreatedGPUInstance], on gpu: String, bootID: String) throws {
        try update { contents in
            var all = contents.gpuInstances ?? [:]
            all[gpu] = instances.isEmpty ? nil : CreatedGPUInstances(bootID: bootID, instances: instances)
            contents.gpuInstances = all.isEmpty ? nil : all
        }
    }

    func framebuffer(_ pciID: String) -> Int? {
        contents.withLock { $0.framebuffers[pciID] }
    }

    /// Records a model's framebuffer; saves only when it changed.
    func learnFramebuffer(_ gigabytes: Int, pciID: String) throws {
        try update { $0.framebuffers[pciID] = gigabytes }
    }

    /// Adds listings to a model's catalog; saves only when something was new.
    func learn(_ listings: [VGPUTypeListing], pciID: String) throws {
        try update { contents in
            let known = Set(contents.catalogs[pciID] ?? [])
            let new = Set(listings).subtracting(known)
            guard !new.isEmpty else { return }
            contents.catalogs[pciID] = known.union(new).sorted { $0.number < $1.number }
        }
    }

    /// Changes the contents and, when they changed, saves them; the lock is held while saving, so saves
    /// land in the order of the changes.
    private func update(_ change: (inout Contents) -> Void) throws {
        try contents.withLock { contents in
            var changed = contents
            change(&changed)
            guard changed != contents else { return }
            contents = changed
            guard let path, !readOnly else { return }
            do {
                try JSONFile.write(changed, to: path)
            } catch {
                throw RecordError(path: path, underlying: "\(error)")
            }
        }
    }

    /// The record file could not be written.
    public struct RecordError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var underlying: String
        public var description: String { "cannot write the vGPU record \(path): \(underlying)" }
    }
}
