import MdevModel
import MdevSysfs

/// The layout record in the state directory, also truncated, garbage or disagreeing with the host. One that
/// cannot be read says so in one clean line and counts as lost ("no change known"). Whatever a readable one
/// says, planned for the same wanted list on a host whose cards hold devices of ours, no device is removed;
/// for another list, the plan is the balanced one.
let layoutRecordTarget = FuzzTarget(name: "layout-record") { bytes in
    let directory = scratchFile("state")
    let record = LayoutRecord(stateDirectory: directory)
    do {
        try FileSystem.writeAtomically(bytes, to: record.layoutPath)
    } catch {
        invariant(false, "cannot write the scratch record: \(error)")
    }
    let loaded = record.load()
    if let problem = loaded.problem {
        invariant(loaded.layout == nil, "a record that could not be read gave a layout")
        invariant(problem.contains(record.layoutPath), "the problem does not name the file: \(problem)")
        invariant(problem.contains("no change known"), "the problem does not say what it means: \(problem)")
        invariant(isOneCleanLine(problem), "the problem is not one clean line: \(problem.debugDescription)")
        return
    }
    guard var layout = loaded.layout else { return invariant(bytes.isEmpty == false, "an empty record read as a layout") }
    let plan = { (remembered: RememberedLayout?, rebalance: Bool) in
        Planner.plan(PlanningInput(
            inventory: LayoutRecordHost.inventory, wanted: LayoutRecordHost.wanted, hostKey: LayoutRecordHost.key,
            settings: ReconcilerSettings(), nodeName: "fuzz", remembered: remembered, rebalance: rebalance))
    }
    let asIs = plan(layout, false)
    if layout.wantedDigest != RememberedLayout.digest(of: LayoutRecordHost.wanted) {
        invariant(asIs.parents == plan(layout, true).parents, "a record of another list did not give the balanced plan")
    }
    layout.wantedDigest = RememberedLayout.digest(of: LayoutRecordHost.wanted)
    let same = plan(layout, false)
    invariant(same.parents.allSatisfy(\.remove.isEmpty), "a record of the same list removed devices of a card holding them")
    invariant(same.remembered.map { remembered in LayoutRecordHost.inventory.parents.allSatisfy { remembered.cards[$0.card] != nil } } ?? false,
              "the layout to remember leaves out a present card")
}

/// Two T4-like cards, both filled with 16 devices of ours of nvidia-222, a third (nvidia-228's) gone.
enum LayoutRecordHost {
    static let key = HostKey(nodeName: "fuzz")
    static let wanted = WantedTypes(types: ["nvidia-222", "nvidia-228", "nvidia-105"], source: .global)
    static let inventory = Inventory(parents: ["0000:3b:00.0", "0000:3d:00.0"].map { name in
        Parent(
            name: name, driver: "nvidia", pciID: "10de:1eb8",
            types: [
                MdevType(id: "nvidia-222", name: "GRID T4-1B", availableInstances: 0, description: "num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=16"),
                MdevType(id: "nvidia-228", name: "GRID T4-8Q", availableInstances: 0, description: "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=2"),
            ],
            devices: (0..<16).map { MdevDevice(uuid: key.deviceUUID(parent: name, type: "nvidia-222", slot: $0), type: "nvidia-222") })
    })
}
