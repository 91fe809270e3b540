import MdevModel

/// Enables the SR-IOV virtual functions of NVIDIA GPUs that have none, with NVIDIA's `sriov-manage -e`
/// (the `mdevReconciler.enableVirtualFunctions` setting, off by default).
///
/// Writing `sriov_numvfs` directly fails while the GPU is bound to `nvidia` (the driver has no
/// `sriov_configure`); `sriov-manage` takes the driver's unbind lock, moves the GPU to `pci-pf-stub`,
/// enables every function, and binds the GPU and its functions to `nvidia`. It is run only for a GPU bound to
/// `nvidia` whose `sriov_numvfs` is 0 (so no function of it exists, let alone one in use); a GPU with some
/// functions is never touched. Nor is a GPU whose physical function is itself an mdev parent
/// (`mdev_supported_types`) or carries NVIDIA's vendor-specific `nvidia/` directory: a Tesla T4 advertises
/// `sriov_totalvfs` 16, but its vGPU driver serves mdevs on the physical function and never creates
/// functions; `sriov-manage -e` would move it to `pci-pf-stub` and destroy its mdevs. Where NVML is there
/// it says so directly: a GPU whose host vGPU mode NVML reports as not SR-IOV is never given to
/// `sriov-manage`, whatever sysfs shows. Functions vanish at every reboot and driver reload, so this is
/// checked at every full pass and when a PCI device is bound.
public struct VirtualFunctionEnabler: Sendable {
    /// The directory that plays `/sys`, inside which every file is read.
    public let root: ConfinedRoot
    public let runner: any CommandRunning
    /// Where `sriov-manage` is looked for, in order (NVIDIA's packages put it in /usr/lib/nvidia).
    public let toolPaths: [String]
    /// How long one `sriov-manage -e` may take (NVIDIA users report 30 s and more for 8 GPUs) before it is
    /// reported like a stuck write and left running.
    public let deadline: Duration
    /// Whether NVML reports the GPU at this PCI address in SR-IOV host vGPU mode; nil when it cannot tell
    /// (no NVML on this host, or NVML does not know the GPU), which leaves the decision to sysfs.
    public let isSRIOVMode: @Sendable (String) -> Bool?
    /// GPUs whose `sriov-manage` missed its deadline and still runs: not started again until it ends.
    private let running = LockedValue<Set<String>>([])

    /// The default deadline of one `sriov-manage -e`.
    public static let defaultDeadline: Duration = .seconds(120)

    public init(
        sysfsRoot: String = "/sys", runner: any CommandRunning = ProcessRunner(), toolPaths: [String] = HostEnvironment.system.sriovManagePaths,
        deadline: Duration = Self.defaultDeadline, isSRIOVMode: @escaping @Sendable (String) -> Bool? = { _ in nil }
    ) {
        self.isSRIOVMode = isSRIOVMode
        root = ConfinedRoot(sysfsRoot)
        self.runner = runner
        self.toolPaths = toolPaths
        self.deadline = deadline
    }

    /// What happened to one GPU.
    public struct Outcome: Sendable, Hashable, CustomStringConvertible {
        public enum Result: Sendable, Hashable {
            case enabled
            /// `sriov-manage` is not in any of these places.
            case toolMissing(lookedIn: [String])
            /// The driver's unbind lock is held: an NVML client (DCGM, nvidia-smi, a monitoring agent) has the GPU open.
            case gpuBusy(output: String)
            case failed(status: Int32, output: String)
            /// It had not ended by the deadline; it is left running and not started again until it ends.
            case timedOut(after: Duration)
        }

        public var gpu: String
        public var result: Result

        public init(gpu: String, result: Result) {
            self.gpu = gpu
            self.result = result
        }

        public var description: String {
            switch result {
            case .enabled:
                return "enabled the virtual functions of \(gpu) (sriov-manage -e \(gpu))"
            case .toolMissing(let paths):
                return "\(gpu) supports SR-IOV but has no virtual functions, and NVIDIA's sriov-manage was not found "
                    + "(looked in \(paths.joined(separator: ", "))); install the vGPU host driver's tools"
            case .gpuBusy:
                return "cannot enable the virtual functions of \(gpu): Cannot obtain unbindLock (an NVML client such as DCGM, "
                    + "nvidia-smi or a monitoring agent has the GPU open; stop it, then reload mdev-reconciler)"
            case .failed(0, let output):
                return "sriov-manage -e \(gpu) exited 0, but \(gpu) still has no virtual functions: \(output.trimmingSpaces())"
            case .failed(let status, let output):
                return "sriov-manage -e \(gpu) failed with status \(status): \(output.trimmingSpaces())"
            case .timedOut(let deadline):
                return "sriov-manage -e \(gpu) has not returned after \(deadline); it is left running, and \(gpu) is left alone until it returns"
            }
        }
    }

    /// NVIDIA GPUs (among `names`, or all) bound to `nvidia` that support SR-IOV, have no function enabled,
    /// serve no vGPU on the physical function itself (no `mdev_supported_types`, no `nvidia/` directory), and
    /// that NVML, where it can tell, reports in SR-IOV host vGPU mode.
    public func gpusWithoutFunctions(among names: Set<String>? = nil) -> [String] {
        let devices = root.path.appending("bus/pci/devices")
        guard FileSystem.isDirectory(devices, inside: root), let all = try? FileSystem.list(devices, inside: root) else { return [] }
        return all.filter { name in
            guard names?.contains(name) ?? true else { return false }
            let directory = devices.appending(name)
            func read(_ file: String) -> String? { (try? FileSystem.readText(directory.appending(file), inside: root))?.trimmingSpaces() }
            guard read("vendor") == "0x10de", (try? FileSystem.readLink(directory.appending("driver"), inside: root))?.lastPathComponent == "nvidia",
                let total = read("sriov_totalvfs").flatMap(SysfsNumber.count), total > 0, read("sriov_numvfs").flatMap(SysfsNumber.count) == 0,
                !FileSystem.exists(directory.appending("mdev_supported_types"), inside: root),
                !FileSystem.exists(directory.appending("nvidia"), inside: root)
            else { return false }
            return isSRIOVMode(name) != false
        }
    }

    /// Runs `sriov-manage -e` for each GPU without functions (among `names`, or all), calling `before` with
    /// each GPU first (MIG mode, which must be on before the functions are enabled).
    public func enable(among names: Set<String>? = nil, before: (String) -> Void = { _ in }) -> [Outcome] {
        let gpus = gpusWithoutFunctions(among: names).filter { gpu in !running.withLock { $0.contains(gpu) } }
        guard !gpus.isEmpty else { return [] }
        guard let tool = toolPaths.first(where: { FileSystem.exists($0) }) else {
            return gpus.map { Outcome(gpu: $0, result: .toolMissing(lookedIn: toolPaths)) }
        }
        return gpus.map { gpu in
            before(gpu)
            do {
                _ = running.withLock { $0.insert(gpu) }
                let (status, output) = try runner.run(tool, ["-e", gpu], deadline: deadline) { [running] in
                    _ = running.withLock { $0.remove(gpu) }
                }
                _ = running.withLock { $0.remove(gpu) }
                // sysfs is the truth: the functions exist now, or they do not.
                if gpusWithoutFunctions(among: [gpu]).isEmpty { return Outcome(gpu: gpu, result: .enabled) }
                if output.contains("unbindLock") { return Outcome(gpu: gpu, result: .gpuBusy(output: output)) }
                return Outcome(gpu: gpu, result: .failed(status: status, output: output))
            } catch is CommandTimedOut {
                return Outcome(gpu: gpu, result: .timedOut(after: deadline))
            } catch {
                _ = running.withLock { $0.remove(gpu) }
                return Outcome(gpu: gpu, result: .failed(status: -1, output: "\(error)"))
            }
        }
    }
}

