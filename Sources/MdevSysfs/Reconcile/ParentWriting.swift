import MdevModel

/// Executes one parent's part of a plan for the ``ReconcileEngine``: `apply` waits for the writes
/// (``WaitingWriter``); the daemon's writer gives them a deadline and keeps serving while they block.
public protocol ParentWriting: Sendable {
    /// The outcome, or nil when the writes did not return in time (the parent is then stuck).
    /// - Parameter location: where the parent lives, from the reading the plan was made from.
    func execute(_ plan: ParentPlan, at location: ParentLocation, control: any MdevDeviceControl) async -> ParentExecutor.Outcome?
    /// From now on, writes in flight finish but no further write starts (the daemon is stopping).
    func stopStartingWrites()
}

/// Runs a parent's writes on a Dispatch thread and waits for them however long they take: `apply`'s writer.
public struct WaitingWriter: ParentWriting {
    public init() {}

    public func execute(_ plan: ParentPlan, at location: ParentLocation, control: any MdevDeviceControl) async -> ParentExecutor.Outcome? {
        await BlockingCall.run { ParentExecutor.execute(plan, at: location, control: control) }
    }

    public func stopStartingWrites() {}
}
