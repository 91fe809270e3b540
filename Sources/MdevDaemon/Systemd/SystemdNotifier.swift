import CSystemd
import Glibc

/// Sends the service manager's notifications with `sd_notify`. Without `$NOTIFY_SOCKET` (not started by
/// systemd) every call does nothing.
public struct SystemdNotifier: ServiceNotifier {
    public init() {}

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        send("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=\(microseconds)")
    }

    public func status(_ text: String) { send("STATUS=\(text)") }
    public func stopping() { send("STOPPING=1\nSTATUS=stopping") }
    public func watchdog() { send("WATCHDOG=1") }

    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }

    private func send(_ message: String) {
        _ = sd_notify(0, message)
    }
}
