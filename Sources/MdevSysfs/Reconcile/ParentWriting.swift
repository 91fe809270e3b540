import MdevModel

/// Executes one parent's part of a plan for the ``ReconcileEngine`` (``ParentWriter``: with a deadline,
/// past which the parent is stuck and the writes go on in the background).
public protocol ParentWriting: Sendable {
    /// The outcome, or nil when the writes did not return in time (the parent is then stuck).
    /// - Parameter location: where the parent lives, from the reading the plan was made from.
    func execute(_ plan: ParentPlan, at location: ParentLocation, control: any MdevDeviceControl) async -> ParentExecutor.Outcome?
    /// From now on, writes in flight finish but no further write starts (the daemon is stopping).
    func stopStartingWrites()
}
