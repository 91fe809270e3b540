import Dispatch
import Glibc
import MdevSysfs
import SystemPackage

/// A program a test starts (the built `mdev-reconciler`, `cp`), through ``Spawn``: its stdout and stderr
/// read on threads of their own as they come (stderr also line by line, for waiting on a log line), its
/// end reaped on another, so a test can send it signals and wait for it.
public final class ChildProcess: Sendable {
    public typealias Termination = Spawn.Termination

    public let pid: pid_t
    private let termination = LockedValue<Termination?>(nil)
    private let standardOutput = LockedValue<[UInt8]>([])
    private let standardError = LockedValue<[UInt8]>([])
    /// Left when the program has been reaped.
    private let exited = DispatchGroup()
    /// Left when both pipes reached their end.
    private let drained = DispatchGroup()

    /// Starts `executable` with `arguments`, in `directory` when given.
    /// - Parameter stderrLine: called with each line the program writes to stderr, as it comes.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String], directory: String? = nil,
        stderrLine: (@Sendable (String) -> Void)? = nil
    ) throws(Errno) {
        let out = try Spawn.pipe(), err = try Spawn.pipe()
        // posix_spawn_file_actions_addchdir_np is not in Glibc's Swift module: a shell changes directory.
        let command = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, executable] } ?? [executable]
        let pid: pid_t
        do {
            pid = try Spawn.start(command + arguments, environment: environment.map { "\($0.key)=\($0.value)" },
                                  stdout: out.write, stderr: err.write)
        } catch {
            [out.read, out.write, err.read, err.write].forEach { close($0) }
            throw error
        }
        close(out.write)
        close(err.write)
        self.pid = pid
        Self.drain(out.read, into: standardOutput, group: drained, line: nil)
        Self.drain(err.read, into: standardError, group: drained, line: stderrLine)
        exited.enter()
        DedicatedThread.start { [termination, exited] in
            let end = Spawn.waitForExit(pid)
            termination.withLock { $0 = end }
            exited.leave()
        }
    }

    /// Whether it has not been reaped yet.
    public var isRunning: Bool { termination.withLock { $0 } == nil }

    /// Sends `signal`, unless it has already ended.
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits until it ends.
    @discardableResult
    public func waitUntilExit() -> Termination {
        exited.wait()
        return termination.withLock { $0! }
    }

    /// Waits until it ends and both pipes are read to their end; its stdout and stderr.
    public func output() -> (termination: Termination, stdout: String, stderr: String) {
        let end = waitUntilExit()
        drained.wait()
        return (end, String(decoding: standardOutput.withLock { $0 }, as: UTF8.self),
                String(decoding: standardError.withLock { $0 }, as: UTF8.self))
    }

    /// Reads `descriptor` to its end on a thread of its own, keeping the bytes and passing on each line.
    private static func drain(_ descriptor: Int32, into bytes: LockedValue<[UInt8]>, group: DispatchGroup, line: (@Sendable (String) -> Void)?) {
        group.enter()
        DedicatedThread.start {
            var pending: [UInt8] = []
            let all = Spawn.readToEnd(descriptor) { chunk in
                guard let line else { return }
                pending += chunk
                while let newline = pending.firstIndex(of: 10) {
                    line(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
            }.bytes
            if let line, !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
            bytes.withLock { $0 = all }
            group.leave()
        }
    }
}
