/// Every path this program touches, resolved from one host root (like mdevctl's `Environment`): sysfs,
/// procfs, /etc, the runtime and state directories, udev's control socket, `sriov-manage`'s places. A test
/// or an example host swaps the root and nothing of the real system is read or written.
public struct HostEnvironment: Sendable, Hashable {
    /// The directory that plays `/`: empty for the real system.
    public let root: String
    /// The directory that plays `/sys`.
    public var sysfsRoot: String
    /// The directory that plays `/proc`.
    public var procRoot: String
    /// The file holding the machine id that device UUIDs derive from.
    public var machineIDFile: String
    /// The config file used when none is named.
    public var configFile: String
    /// The labels file used when none is named.
    public var labelsFile: String
    /// Where the record of vGPUs configured in NVIDIA's vendor-specific mode is kept.
    public var stateDirectory: String
    /// The daemon's status file (under the runtime directory systemd creates, `RuntimeDirectory=`).
    public var statusFile: String
    /// udevd's control socket: it exists while udevd runs.
    public var udevControl: String
    /// Where NVIDIA's `sriov-manage` is looked for, in order (NVIDIA's packages put it in /usr/lib/nvidia).
    public var sriovManagePaths: [String]

    /// The places of the real system (`root` empty) or of a host tree under `root`.
    public init(root: String = "") {
        let root = root.hasSuffix("/") ? String(root.dropLast()) : root
        self.root = root
        sysfsRoot = root + "/sys"
        procRoot = root + "/proc"
        machineIDFile = root + "/etc/machine-id"
        configFile = root + "/etc/mdev-reconciler/config.yaml"
        labelsFile = root + "/etc/mdev-reconciler/labels"
        stateDirectory = root + "/var/lib/mdev-reconciler"
        statusFile = root + "/run/mdev-reconciler/status.json"
        udevControl = root + "/run/udev/control"
        sriovManagePaths = Self.sriovManageLocations.map { root + $0 }
    }

    /// Where NVIDIA's vGPU host packages install `sriov-manage`, relative to the root.
    public static let sriovManageLocations = [
        "/usr/lib/nvidia/sriov-manage", "/usr/sbin/sriov-manage", "/usr/bin/sriov-manage", "/usr/local/sbin/sriov-manage",
        "/usr/local/bin/sriov-manage",
    ]

    /// The real system's places.
    public static let system = HostEnvironment()
}
