/// A kernel uevent, as a value: what the daemon needs of a `udev_device` from the monitor.
public struct DeviceEvent: Sendable, Hashable {
    /// `add`, `remove`, `change`, `bind`, `unbind`, `move`, `online`, `offline`.
    public var action: String
    public var subsystem: String
    /// The device's path under `/sys` (`/devices/pci0000:00/0000:00:02.0/0000:3b:00.0`).
    public var devpath: String
    /// The last component of the path (`0000:3b:00.0`, a UUID, `mtty`).
    public var sysname: String
    /// Uevent properties, such as `MDEV_STATE=registered`.
    public var properties: [String: String]

    public init(action: String, subsystem: String, devpath: String, sysname: String? = nil, properties: [String: String] = [:]) {
        self.action = action
        self.subsystem = subsystem
        self.devpath = devpath
        self.sysname = sysname ?? devpath.split(separator: "/").last.map(String.init) ?? devpath
        self.properties = properties
    }
}

/// Decides which parents a uevent concerns, so a pass re-reads only them.
///
/// - `mdev` devices (`add`, `remove`, `bind`, `unbind`): their parent, the directory above the device.
///   An `add` is not a success (a refused create emits `add` then `remove`): it only makes the parent
///   be read again.
/// - `MDEV_STATE=registered|unregistered` on any subsystem (mtty, pci, css, ap, ...): the device itself,
///   which just became or stopped being a parent.
/// - `pci`, `css`, `ap` and `matrix` devices added, removed, bound or unbound (a GPU driver loading, SR-IOV
///   virtual functions appearing, a card unplugged): the device itself, which may be or become a parent.
/// - Any other device that is a known parent, on any action.
/// Everything else concerns no parent.
public enum UeventRouter {
    static let parentSubsystems: Set<String> = ["pci", "css", "ap", "matrix"]
    static let lifecycleActions: Set<String> = ["add", "remove", "bind", "unbind", "change"]

    /// The reconciler input for what the monitor reports: a full rescan when events were lost, else the
    /// input for the event.
    public static func input(for output: UdevMonitor.Output, knownParents: Set<String>) -> ReconcilerInput? {
        switch output {
        case .event(let event): input(for: event, knownParents: knownParents)
        case .lost: .eventsLost
        }
    }

    /// The reconciler input for `event`, or nil when it concerns no parent.
    public static func input(for event: DeviceEvent, knownParents: Set<String>) -> ReconcilerInput? {
        let parents = parents(touchedBy: event, knownParents: knownParents)
        return parents.isEmpty ? nil : .parentsTouched(parents)
    }

    public static func parents(touchedBy event: DeviceEvent, knownParents: Set<String>) -> Set<String> {
        candidates(touchedBy: event, knownParents: knownParents).filter(isDirectoryEntry)
    }

    /// Whether `name` can be an entry of `/sys/class/mdev_bus` (not empty, `.`, `..`, and without `/` or
    /// NUL): a name from a uevent is read as a parent only then.
    static func isDirectoryEntry(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    private static func candidates(touchedBy event: DeviceEvent, knownParents: Set<String>) -> Set<String> {
        if event.subsystem == "mdev" {
            let components = event.devpath.split(separator: "/")
            return components.count >= 2 ? [String(components[components.count - 2])] : []
        }
        if event.properties["MDEV_STATE"] != nil || knownParents.contains(event.sysname) {
            return [event.sysname]
        }
        if parentSubsystems.contains(event.subsystem) && lifecycleActions.contains(event.action) {
            return [event.sysname]
        }
        return []
    }
}
