import MdevTestSupport
import Testing

@testable import MdevModel

@Suite("validate's suggestion for a type no card has")
struct TypeSuggestionTests {
    let inventory = try! SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")]).readInventory().inventory

    @Test("The closest id or name, told apart by case last; nothing when no type is close; nothing for a type a card has", arguments: [
        ("nvidia-22", "nvidia-22: no card on this host has it; did you mean nvidia-222 (GRID T4-1B)?"),
        ("GRID_T4-1b", "GRID_T4-1b: no card on this host has it; did you mean GRID_T4-1B (nvidia-222)?"),
        ("grid_t4-16q", "grid_t4-16q: no card on this host has it; did you mean GRID_T4-16Q (nvidia-234)?"),
        ("i915-GVTg_V5_4", "i915-GVTg_V5_4: no card on this host has it"),
    ])
    func suggestion(reference: String, message: String) {
        #expect(TypeSuggestion.warning(for: reference, on: inventory) == message)
    }

    @Test("A type some card has is no warning, by id or by name")
    func known() {
        #expect(TypeSuggestion.warning(for: "nvidia-222", on: inventory) == nil)
        #expect(TypeSuggestion.warning(for: "GRID_T4-1B", on: inventory) == nil)
    }

    @Test("Edit distance: insertions, deletions and substitutions")
    func editDistance() {
        func distance(_ a: String, _ b: String) -> Int { TypeSuggestion.editDistance(Array(a.unicodeScalars), Array(b.unicodeScalars)) }
        #expect(distance("", "abc") == 3)
        #expect(distance("kitten", "sitting") == 3)
        #expect(distance("nvidia-22", "nvidia-222") == 1)
        #expect(distance("same", "same") == 0)
    }
}
