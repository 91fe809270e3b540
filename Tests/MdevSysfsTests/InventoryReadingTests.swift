import Foundation
import MdevModel
import Testing

@testable import MdevSysfs

/// The one merge rule of readings into what is known.
@Suite("Merging readings into what is known")
struct InventoryReadingTests {
    func parent(_ name: String, types: [String] = ["t-1"]) -> Parent {
        Parent(name: name, types: types.map { MdevType(id: $0, availableInstances: 1) })
    }

    func location(_ name: String, _ directory: String) -> ParentLocation {
        .mdev(MdevParentLocation(name: name, directory: directory))
    }

    var known: HostSnapshot {
        HostSnapshot(
            inventory: Inventory(parents: [parent("a"), parent("b"), parent("c")]),
            locations: ["a": location("a", "/old/a"), "b": location("b", "/old/b"), "c": location("c", "/old/c")])
    }

    @Test("A partial reading replaces what it read, drops what is gone, and keeps the rest with where it lives")
    func partial() {
        let reading = InventoryReading(
            inventory: Inventory(parents: [parent("a", types: ["t-2"])]), locations: ["a": location("a", "/new/a")], gone: ["c"])
        let merged = reading.applied(to: known, full: false)
        #expect(merged.inventory.parents.map(\.name) == ["a", "b"])
        #expect(merged.inventory.parent(named: "a")?.types.map(\.id) == ["t-2"])
        #expect(merged.locations == ["a": location("a", "/new/a"), "b": location("b", "/old/b")])
    }

    @Test("A known parent not read whole keeps what was known and where it lives, and carries why; an unknown one is left out")
    func incomplete() {
        var reading = InventoryReading(
            inventory: Inventory(parents: [parent("a", types: [])]), locations: ["a": location("a", "/new/a")])
        reading.incomplete = ["a": "type t-1: unreadable", "d": "left out"]
        let merged = reading.applied(to: known, full: true)
        #expect(merged.inventory.parents.map(\.name) == ["a"])
        #expect(merged.inventory.parents[0].types.map(\.id) == ["t-1"])
        #expect(merged.inventory.parents[0].readProblem == "type t-1: unreadable")
        #expect(merged.locations == ["a": location("a", "/old/a")])
        // Read whole again: the problem is gone with the old reading.
        let whole = InventoryReading(inventory: Inventory(parents: [parent("a")]), locations: ["a": location("a", "/new/a")])
        #expect(whole.applied(to: merged, full: true).inventory.parents[0].readProblem == nil)
    }

    @Test("A full reading replaces everything else")
    func full() {
        let reading = InventoryReading(inventory: Inventory(parents: [parent("b")]), locations: ["b": location("b", "/new/b")])
        let merged = reading.applied(to: known, full: true)
        #expect(merged.inventory.parents.map(\.name) == ["b"])
        #expect(merged.locations == ["b": location("b", "/new/b")])
    }
}
