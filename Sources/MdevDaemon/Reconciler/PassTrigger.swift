/// What asked for a pass, as the metrics count passes (`mdev_reconciler_passes_total{trigger=…}`).
public enum PassTrigger: String, Sendable, Hashable, CaseIterable {
    /// The daemon's first pass.
    case start
    /// A udev event, lost events, or a write that returned at last.
    case event
    /// SIGHUP (`systemctl reload`).
    case reload
    /// The config, labels or rebalance-request file changed.
    case configChange = "config_change"
    /// A retry or an in-use re-check that came due.
    case backoff
    /// `mdev-reconciler apply` (its one pass, in the file `apply --metrics-file` writes).
    case apply

    /// The order that picks one trigger for a pass several asked for: the one that explains the most.
    public static let precedence: [PassTrigger] = [.start, .apply, .reload, .configChange, .event, .backoff]
}
