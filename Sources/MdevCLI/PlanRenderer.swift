import FoundationEssentials
import MdevModel
import MdevSysfs

/// Renders a plan for people (a table) or programs (JSON).
enum PlanRenderer {
    /// - Parameter cardStates: a word for a card's CHANGE beside its devices': `to prepare` (`plan`: MIG mode
    ///   or GPU instances first), `not prepared` (`apply` could not).
    static func render(_ plan: Plan, format: OutputFormat, cardStates: [String: String] = [:]) throws -> String {
        switch format {
        case .json: return try JSONOutput.encode(plan)
        case .text: return text(plan, cardStates: cardStates)
        }
    }

    static func text(_ plan: Plan, cardStates: [String: String] = [:]) -> String {
        var lines = ["node \(plan.node): \(describe(plan.wanted))", ""]
        guard !plan.parents.isEmpty else {
            return (lines + ["no mdev parents found (is the GPU driver loaded?)"]).joined(separator: "\n")
        }
        var table = TextTable(["PARENT", "MODEL", "CURRENT", "TARGET", "CHANGE"])
        for row in rows(plan) {
            let target = row.type.map { type in
                "\(type) ×\(row.keep.filter { $0.type == type }.count + row.create.count)"
            } ?? "-"
            table.add([row.parent, row.model ?? "-", current(row), target, change(row, state: cardStates[row.card])])
        }
        lines.append(table.rendered)
        for parent in plan.blockedParents {
            for blocker in parent.blockers { lines.append("blocked \(parent.parent): \(blocker.message)") }
        }
        lines += layoutLines(
            held: plan.held?.message, unserved: plan.unserved.map(\.message), rebalance: plan.rebalanceMoves.map(\.message))
        let creates = plan.parents.reduce(0) { $0 + $1.create.count }
        let removes = plan.parents.reduce(0) { $0 + $1.remove.count }
        lines.append("")
        lines.append("\(counted(plan.parents.count, "parent")): \(counted(creates, "device")) to create, \(removes) to remove, "
            + "\(plan.blockedParents.count) blocked")
        return lines.joined(separator: "\n")
    }

    /// Why a config is held, what the kept layout leaves unserved and what a rebalance would do: the lines
    /// `plan` and `status` print. (A plan that holds the host has nothing unserved; the daemon may hold a new
    /// config while the one in force leaves a type unserved.)
    static func layoutLines(held: String?, unserved: [String], rebalance: [String]) -> [String] {
        (held.map { ["held: \($0)"] } ?? []) + unserved.map { "unserved \($0)" } + rebalance
    }

    /// One row per card: a card of several parents (an SR-IOV GPU's virtual functions) is summed up in one
    /// row named `<card> (N VFs)`.
    static func rows(_ plan: Plan) -> [ParentPlan] {
        plan.parents.groupedInOrder(by: \.card).map { card, parents in
            guard parents.count > 1 else { return parents[0] }
            return ParentPlan(
                parent: "\(card) (\(parents.count) VFs)", card: card, model: parents[0].model,
                current: Array(Set(parents.flatMap(\.current))).sorted(), type: parents[0].type,
                keep: parents.flatMap(\.keep), create: parents.flatMap(\.create), remove: parents.flatMap(\.remove),
                blockers: parents.flatMap(\.blockers))
        }
    }

    /// `1 parent`, `3 parents`.
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    static func describe(_ wanted: WantedTypes) -> String {
        switch wanted.source {
        case .disabled: return "management disabled (enabled: false)"
        case .global: return "wants \(list(wanted.types)) (global mediatedDeviceTypes)"
        case .nodeOverride(let entries):
            let indices = entries.map(String.init).joined(separator: ", ")
            return "wants \(list(wanted.types)) (nodeMediatedDeviceTypes entries \(indices))"
        }
    }

    private static func list(_ types: [String]) -> String {
        types.isEmpty ? "nothing" : types.joined(separator: ", ")
    }

    private static func current(_ parent: ParentPlan) -> String {
        let devices = parent.keep + parent.remove
        guard !devices.isEmpty else { return "-" }
        return parent.current.map { type in "\(type) ×\(devices.filter { $0.type == type }.count)" }.joined(separator: ", ")
    }

    private static func change(_ parent: ParentPlan, state: String?) -> String {
        var parts: [String] = []
        if !parent.create.isEmpty { parts.append("+\(parent.create.count)") }
        if !parent.remove.isEmpty { parts.append("−\(parent.remove.count)") }
        if !parent.blockers.isEmpty { parts.append("blocked") }
        if let state { parts.append(state) }
        return parts.isEmpty ? "ok" : parts.joined(separator: " ")
    }
}

/// JSON the way every command prints it: pretty, keys sorted, slashes unescaped.
enum JSONOutput {
    /// The JSON of the program's own files (``JSONFile``): one encoding, times in ISO 8601, everywhere.
    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONFile.encode(value), as: UTF8.self)
    }
}

extension Sequence {
    /// The elements grouped by `key`, groups in the order their first element appears.
    func groupedInOrder<Key: Hashable>(by key: (Element) -> Key) -> [(key: Key, elements: [Element])] {
        var order: [Key] = []
        var groups: [Key: [Element]] = [:]
        for element in self {
            let k = key(element)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(element)
        }
        return order.map { ($0, groups[$0]!) }
    }
}
