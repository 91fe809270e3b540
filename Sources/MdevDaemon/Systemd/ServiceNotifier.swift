/// What the daemon tells its service manager: systemd's `sd_notify` protocol, or a recorder in tests.
public protocol ServiceNotifier: Sendable {
    /// `READY=1` with a status line: sent after the first pass and after each reload.
    func ready(status: String)
    /// `RELOADING=1` (with `MONOTONIC_USEC`), when a reload begins.
    func reloading()
    /// `STATUS=` with a one-line summary.
    func status(_ text: String)
    /// `STOPPING=1`.
    func stopping()
    /// `WATCHDOG=1`.
    func watchdog()
    /// How often systemd expects `WATCHDOG=1`, when it does (`WatchdogSec=`).
    var watchdogInterval: Duration? { get }
}
