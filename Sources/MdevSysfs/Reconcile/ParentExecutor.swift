import FoundationEssentials
import MdevModel

/// Executes one parent's part of a plan: removals first (each only after checking that no process
/// holds the device), then as many of the planned creations as `available_instances`, read right before
/// creating, allows. A failure stops that parent's remaining changes (a device in use is skipped, the other
/// removals go on).
public enum ParentExecutor {
    /// What happened on one parent.
    public struct Outcome: Sendable {
        public var parent: String
        public var created: [PlannedDevice] = []
        public var removed: [PlannedDevice] = []
        public var failures: [ApplyReport.Failure] = []
        /// Planned creations the parent had no room for when it came to creating them.
        public var shortOfCapacity = 0
    }

    /// - Parameters:
    ///   - location: where the parent lives, from the reading the plan was made from.
    ///   - shouldContinue: asked before each write; once it says no (the daemon is stopping), no further
    ///     write starts.
    public static func execute(
        _ plan: ParentPlan, at location: ParentLocation, control: any MdevDeviceControl, shouldContinue: () -> Bool = { true }
    ) -> Outcome {
        var outcome = Outcome(parent: plan.parent)
        for device in plan.remove {
            guard shouldContinue() else { return outcome }
            do {
                let holders = try control.holders(of: device.uuid, at: location)
                guard holders.isEmpty else {
                    outcome.failures.append(.init(parent: plan.parent, device: device, operation: .remove,
                        message: "in use by " + holders.map(\.description).joined(separator: ", ") + "; not removed", interface: plan.interface,
                        cause: .inUse(holders)))
                    continue
                }
                try control.remove(device.uuid, at: location)
                outcome.removed.append(device)
            } catch {
                outcome.failures.append(.init(
                    parent: plan.parent, device: device, operation: .remove, message: "\(error)", interface: plan.interface, cause: FailureCause(error)))
                return outcome
            }
        }
        guard outcome.failures.isEmpty, let type = plan.type, !plan.create.isEmpty else { return outcome }
        var device: PlannedDevice?
        do {
            let available = try control.availableInstances(of: type, at: location)
            outcome.shortOfCapacity = max(0, plan.create.count - available)
            for planned in plan.create.prefix(available) {
                guard shouldContinue() else { return outcome }
                device = planned
                try control.create(planned.uuid, type: type, at: location)
                outcome.created.append(planned)
            }
        } catch {
            outcome.failures.append(.init(
                parent: plan.parent, device: device, operation: .create, message: "\(error)", interface: plan.interface, cause: FailureCause(error)))
        }
        return outcome
    }
}
