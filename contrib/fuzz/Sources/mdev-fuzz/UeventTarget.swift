import MdevDaemon

/// Uevents into the event router. Input: NUL-separated action, subsystem, devpath, then `KEY=value`
/// properties. A uevent concerns at most one parent, named by its sysname or a component of its devpath,
/// and never by a name that is no sysfs directory entry (empty, `.`, `..`, or with a `/`).
let ueventTarget = FuzzTarget(name: "uevent") { bytes in
    let fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    func field(_ index: Int) -> String { index < fields.count ? fields[index] : "" }
    var properties: [String: String] = [:]
    for property in fields.dropFirst(3) {
        guard let equals = property.firstIndex(of: "=") else { continue }
        properties[String(property[..<equals])] = String(property[property.index(after: equals)...])
    }
    let event = DeviceEvent(action: field(0), subsystem: field(1), devpath: field(2), properties: properties)
    let known: Set<String> = ["0000:3b:00.0", "mtty", "0000:41:00.4"]
    let parents = UeventRouter.parents(touchedBy: event, knownParents: known)
    invariant(parents.count <= 1, "one uevent names \(parents.count) parents")
    let components = Set(event.devpath.split(separator: "/").map(String.init))
    for parent in parents {
        invariant(!parent.isEmpty && parent != "." && parent != ".." && !parent.contains("/") && !parent.contains("\0"),
                  "parent name \(parent.debugDescription) is no directory entry")
        invariant(parent == event.sysname || components.contains(parent), "parent \(parent.debugDescription) is not in the event")
    }
    if let input = UeventRouter.input(for: event, knownParents: known) {
        invariant(input == .parentsTouched(parents), "input \(input) differs from the parents \(parents)")
    } else {
        invariant(parents.isEmpty, "no input for parents \(parents)")
    }
}
