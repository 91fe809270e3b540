import ArgumentParser
import MdevModel
import MdevSysfs

/// Where the host is: sysfs, procfs and the state directory. Every path defaults to the real system;
/// `--host-root` moves all of them (and every other path of the program) under one directory, for example
/// hosts and tests.
public struct HostRootOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Read sysfs, procfs, /etc, /run and /var under DIR instead of /.", valueName: "DIR"))
    public var hostRoot: String?

    @Option(name: .long, help: ArgumentHelp("The directory that plays /sys.", valueName: "DIR"))
    public var sysfsRoot: String?

    @Option(name: .long, help: ArgumentHelp("The directory that plays /proc (for finding devices in use).", valueName: "DIR"))
    public var procRoot: String?

    @Option(name: .long, help: ArgumentHelp(
        "The state directory: the remembered layout (layout.json), a rebalance request, and the record of vGPUs configured in NVIDIA's vendor-specific mode; default: /var/lib/mdev-reconciler.",
        valueName: "DIR"))
    public var stateDir: String?

    public init() {}

    public func validate() throws {
        // Nothing is read from, or made under, a host root that is not there.
        if let hostRoot, !FileSystem.isDirectory(hostRoot) { throw ValidationError("--host-root \(hostRoot.quoted) is not a directory") }
    }

    /// Every path, resolved from `--host-root` with these options' overrides applied.
    var environment: HostEnvironment {
        var environment = HostEnvironment(root: hostRoot ?? "")
        if let sysfsRoot { environment.sysfsRoot = sysfsRoot }
        if let procRoot { environment.procRoot = procRoot }
        if let stateDir { environment.stateDirectory = stateDir }
        return environment
    }

    /// The host behind these options: mdev parents and NVIDIA virtual functions in vendor-specific mode, their
    /// types as NVML states them where NVIDIA's library is there.
    /// - Parameter recording: whether the vGPU record may be written (`apply`, `run`); commands that only
    ///   look read it and leave it as it is.
    /// - Parameter clearRetryDelays: the waits between EPERM retries of a vendor-mode clear (the daemon fits
    ///   them into its write deadline).
    func makeHost(recording: Bool, clearRetryDelays: [Duration] = VendorVGPUBackend.defaultClearRetryDelays) -> CombinedHost {
        let environment = environment
        let scanner = VFIOHolderScanner(procRoot: environment.procRoot)
        let record = VendorVGPURecord(path: environment.stateDirectory + "/nvidia-vgpu.json", readOnly: !recording)
        return CombinedHost(
            mdev: SysfsHost(reader: SysfsInventoryReader(sysfsRoot: environment.sysfsRoot, holderScanner: scanner)),
            vendor: VendorVGPUBackend(
                files: SysfsVendorVGPUFiles(sysfsRoot: environment.sysfsRoot, holderScanner: scanner), record: record,
                catalog: NVMLVGPUTypeCatalog(), clearRetryDelays: clearRetryDelays))
    }

    /// Makes NVIDIA GPUs ready for MIG-backed vGPU types (`mdevReconciler.manageMIG`), recording the GPU
    /// instances it creates in the record of `host`'s vendor backend (one record, one file).
    func makeCardPreparer(for host: CombinedHost) -> MIGCardPreparer {
        MIGCardPreparer(record: host.vendor.record, bootID: MIGCardPreparer.bootID(procRoot: environment.procRoot))
    }

    /// Runs `sriov-manage` for GPUs without virtual functions, looked for under the host root; where NVIDIA's
    /// NVML is there, a GPU it reports not in SR-IOV mode is left out.
    func makeEnabler(deadline: Duration = VirtualFunctionEnabler.defaultDeadline) -> VirtualFunctionEnabler {
        VirtualFunctionEnabler(
            sysfsRoot: environment.sysfsRoot, toolPaths: environment.sriovManagePaths, deadline: deadline,
            isSRIOVMode: { NVMLLibrary.isSRIOVMode($0) })
    }

}

/// Who this node is: the machine id its devices' UUIDs derive from, and its name.
public struct NodeIdentityOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The file holding the machine id device UUIDs derive from.", valueName: "FILE"))
    public var machineIDFile: String?

    @Option(name: .long, help: ArgumentHelp("The node name (kubernetes.io/hostname); default: the hostname, lower-cased.", valueName: "NAME"))
    public var nodeName: String?

    public init() {}

    public func validate() throws {
        if let nodeName, let problem = LabelSyntax.problem(withNodeName: nodeName.lowercased()) {
            throw ValidationError("--node-name: \(problem)")
        }
    }

    var resolvedNodeName: String { (nodeName ?? HostIdentity.systemNodeName()).lowercased() }

    /// The machine id file, `--machine-id-file` or the host's.
    func machineIDFile(of host: HostRootOptions) -> String { machineIDFile ?? host.environment.machineIDFile }
}

/// `--status-file`, for `run` (which writes it) and `status` (which reads it).
struct StatusFileOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where the daemon writes its status, and status reads it; default: /run/mdev-reconciler/status.json.", valueName: "FILE"))
    var statusFile: String?

    /// The status file, `--status-file` or the host's.
    func path(of host: HostRootOptions) -> String { statusFile ?? host.environment.statusFile }
}

/// Everything a command that plans needs of the host (`plan`, `apply`, `validate`, `run`): where it is,
/// who the node is, and its labels.
public struct HostOptions: ParsableArguments {
    @OptionGroup var root: HostRootOptions
    @OptionGroup var identity: NodeIdentityOptions

    @Option(name: .long, help: ArgumentHelp(
        "A labels file, one key=value per line; default: /etc/mdev-reconciler/labels if it exists.", valueName: "FILE"))
    public var labels: String?

    public init() {}

    /// Every path, resolved from `--host-root` with every override applied.
    var environment: HostEnvironment {
        var environment = root.environment
        environment.machineIDFile = identity.machineIDFile(of: root)
        if let labels { environment.labelsFile = labels }
        return environment
    }

    var resolvedNodeName: String { identity.resolvedNodeName }

    func makeHost(recording: Bool, clearRetryDelays: [Duration] = VendorVGPUBackend.defaultClearRetryDelays) -> CombinedHost {
        root.makeHost(recording: recording, clearRetryDelays: clearRetryDelays)
    }

    func makeCardPreparer(for host: CombinedHost) -> MIGCardPreparer { root.makeCardPreparer(for: host) }

    func makeEnabler(deadline: Duration = VirtualFunctionEnabler.defaultDeadline) -> VirtualFunctionEnabler {
        root.makeEnabler(deadline: deadline)
    }

    /// The config and labels files these options name.
    func configFiles(configFile: String) -> ConfigFiles {
        ConfigFiles(configFile: configFile, labelsFile: environment.labelsFile, labelsFileRequired: labels != nil,
                    nodeName: resolvedNodeName)
    }
}

/// `--write-timeout`, shared by `apply` and `run`: how long a parent's writes may take before the parent
/// is reported stuck.
struct WriteTimeoutOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How long a parent's sysfs writes may take before it is reported stuck (they go on in the background), in seconds.",
        valueName: "S"))
    var writeTimeout: Int = Int(ReconcileEngine.defaultWriteDeadline.components.seconds)

    /// The longest `--write-timeout` (and `--sriov-manage-timeout`), in seconds: a day.
    static let longest = 86_400

    func validate() throws {
        try Self.check("--write-timeout", writeTimeout, upTo: Self.longest)
    }

    var deadline: Duration { .seconds(writeTimeout) }

    /// Throws the error of an option whose value is not from 1 to `limit` (a larger one, made a deadline,
    /// is past what a clock can wait for).
    static func check(_ name: String, _ value: Int, upTo limit: Int) throws {
        guard (1...limit).contains(value) else { throw ValidationError("\(name) must be from 1 to \(limit), not \(value)") }
    }
}

/// The config file option, shared by `plan`, `apply` and `validate`.
public struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The config file (KubeVirt's mediatedDevicesConfiguration, or a whole KubeVirt CR), - for standard input; default: /etc/mdev-reconciler/config.yaml.",
        valueName: "FILE"))
    public var config: String?

    public init() {}}

/// How a command prints its result.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}
