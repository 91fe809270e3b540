import MdevModel

/// Finds the processes that hold VFIO files open, by reading `/proc/<pid>/fd` links.
///
/// A VM (QEMU) holds its device's VFIO group `/dev/vfio/<N>`, or with iommufd the device's cdev
/// `/dev/vfio/devices/vfioN`. Writing `remove` for such a device blocks until the holder lets go, so a
/// device with a holder is never removed.
public struct VFIOHolderScanner: Sendable {
    /// The directory that plays `/proc`, inside which every file is read (``ConfinedRoot``).
    public let root: ConfinedRoot

    public init(procRoot: String = "/proc") {
        root = ConfinedRoot(procRoot)
    }

    /// The directory that plays `/proc`.
    public var procRoot: String { root.path }

    /// What one scan found.
    public struct Scan: Sendable {
        /// Holders per opened path (`/dev/vfio/12`, `/dev/vfio/devices/vfio0`).
        public var holders: [String: [DeviceHolder]] = [:]
        /// Processes whose open files could not be read (not running as root): the scan is incomplete.
        public var uninspectable: [Int32] = []

        public init() {}

        /// The holders of a device in IOMMU group `group` whose VFIO cdevs are `cdevs`.
        ///
        /// When some processes could not be inspected, any of them may hold the device: it is then reported
        /// held by an unknown holder (pid 0), so it is never taken for free.
        public func holders(group: String?, cdevs: [String]) -> [DeviceHolder] {
            let paths = (group.flatMap(VFIOHolderScanner.groupPath).map { [$0] } ?? [])
                + cdevs.compactMap(VFIOHolderScanner.cdevPath)
            let found = Array(Set(paths.flatMap { holders[$0] ?? [] })).sorted { $0.pid < $1.pid }
            if found.isEmpty && !uninspectable.isEmpty {
                return [DeviceHolder(pid: 0, command: "unknown: \(uninspectable.count) processes could not be inspected")]
            }
            return found
        }

        /// Records the process `pid` (named `command`) with the targets of its `/proc/<pid>/fd` links: it
        /// holds every VFIO group or cdev among them (`/dev/vfio/vfio`, the container, holds no device).
        public mutating func record(pid: Int32, command: String, linkTargets: some Sequence<String>) {
            let holder = DeviceHolder(pid: pid, command: command)
            let opened = Set(linkTargets.filter(VFIOHolderScanner.holdsADevice))
            for path in opened.sorted() {
                holders[path, default: []].append(holder)
            }
        }
    }

    /// Whether an open file's link target is a VFIO group (`/dev/vfio/<N>`) or cdev (`/dev/vfio/devices/<name>`):
    /// exactly the file ``groupPath(_:)`` or ``cdevPath(_:)`` gives for its last component.
    public static func holdsADevice(_ linkTarget: String) -> Bool {
        let name = String(linkTarget.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        return groupPath(name) == linkTarget || cdevPath(name) == linkTarget
    }

    /// The device file of IOMMU group `group` (the last component of a device's `iommu_group` link): a
    /// number, or nil for anything else.
    public static func groupPath(_ group: String) -> String? {
        guard !group.isEmpty, group.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return "/dev/vfio/\(group)"
    }

    /// The device file of VFIO cdev `name` (an entry of a device's `vfio-dev` directory, `vfio0`), or nil
    /// for a name that is not one.
    public static func cdevPath(_ name: String) -> String? {
        guard name.hasPrefix("vfio"), name.count > 4, !name.contains("/") else { return nil }
        return "/dev/vfio/devices/\(name)"
    }

    /// Scans every process.
    /// - Throws: ``SysfsError`` when the proc root cannot be listed.
    public func scan() throws(SysfsError) -> Scan {
        var scan = Scan()
        for name in try FileSystem.list(procRoot, inside: root) {
            guard let pid = Int32(name) else { continue }
            let processDirectory = procRoot.appending(name)
            let fdDirectory = processDirectory.appending("fd")
            let descriptors: [String]
            do {
                descriptors = try FileSystem.list(fdDirectory, inside: root)
            } catch {
                // A process that exited meanwhile is no holder; one we may not look at makes the scan incomplete.
                if error.errno == .permissionDenied { scan.uninspectable.append(pid) }
                continue
            }
            let targets = descriptors.compactMap { try? FileSystem.readLink(fdDirectory.appending($0), inside: root) }
            guard targets.contains(where: Self.holdsADevice) else { continue }
            let command = (try? FileSystem.readText(processDirectory.appending("comm"), inside: root))?.trimmingSpaces() ?? "?"
            scan.record(pid: pid, command: command, linkTargets: targets)
        }
        return scan
    }
}

