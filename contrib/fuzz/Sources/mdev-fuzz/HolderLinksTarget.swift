import MdevModel
import MdevSysfs

/// What the holder scan reads: a device's `iommu_group` link and the `/proc/<pid>/fd` link targets of
/// processes. Input: lines; the first is the `iommu_group` link's target, each other `PID TARGET`.
/// A process holds the device exactly when it opened the group's file; `/dev/vfio/vfio` holds nothing.
let holderLinksTarget = FuzzTarget(name: "holder-links") { bytes in
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let groupLink = lines.first else { return }
    let group = groupLink.split(separator: "/").last.map(String.init)
    var targets: [Int32: [String]] = [:]
    for line in lines.dropFirst() {
        guard let space = line.firstIndex(of: " "), let pid = Int32(line[..<space]), pid > 0 else { continue }
        targets[pid, default: []].append(String(line[line.index(after: space)...]))
    }
    var scan = VFIOHolderScanner.Scan()
    for (pid, opened) in targets.sorted(by: { $0.key < $1.key }) {
        scan.record(pid: pid, command: "p\(pid)", linkTargets: opened)
    }
    let holders = scan.holders(group: group, cdevs: [])
    invariant(holders.map(\.pid) == holders.map(\.pid).sorted() && Set(holders.map(\.pid)).count == holders.count, "holders not sorted and distinct")
    let groupFile = group.flatMap(VFIOHolderScanner.groupPath)
    let expected = targets.filter { groupFile != nil && $0.value.contains(groupFile!) }.keys.sorted()
    invariant(holders.map(\.pid) == expected, "holders \(holders.map(\.pid)) of group \(group.debugDescription), expected \(expected)")
    invariant(groupFile != "/dev/vfio/vfio", "the container counts as a group")
    for path in scan.holders.keys {
        invariant(VFIOHolderScanner.holdsADevice(path) && path != "/dev/vfio/vfio", "\(path.debugDescription) recorded as a device")
    }
}
