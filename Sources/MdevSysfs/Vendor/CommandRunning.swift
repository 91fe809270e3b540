import Dispatch
import MdevModel
import Glibc
import Synchronization
import SystemPackage

/// Runs an external program: the real one, or a fake in tests.
public protocol CommandRunning: Sendable {
    /// Runs `executable` with `arguments`, waiting at most `deadline` for it to end.
    /// - Parameter onLateExit: called when a program that missed its deadline ends at last.
    /// - Returns: The exit status and what it printed on stdout and stderr together: its last
    ///   ``ProcessRunner/outputLimit`` bytes, without leading and trailing white space, control characters
    ///   (line breaks too) escaped: it is printed and logged.
    /// - Throws: ``CommandTimedOut`` when it has not ended by the deadline (it goes on running).
    func run(
        _ executable: String, _ arguments: [String], deadline: Duration, onLateExit: @escaping @Sendable () -> Void
    ) throws -> (status: Int32, output: String)
}

/// A program that had not ended by its deadline; it was left running.
public struct CommandTimedOut: Error, Sendable, Hashable, CustomStringConvertible {
    public var command: String
    public var deadline: Duration

    public init(command: String, deadline: Duration) {
        self.command = command
        self.deadline = deadline
    }

    public var description: String { "\(command) has not ended after \(deadline); it is left running" }
}

/// Runs programs with ``Spawn``: stdin from `/dev/null`, stdout and stderr captured together, every signal
/// unblocked and at its default action in the child, on the calling thread (callers keep it off the
/// cooperative pool).
///
/// The exit status is the program's, or 128 + the signal number when a signal ended it, as shells report it.
public struct ProcessRunner: CommandRunning {
    /// How much of a program's output is kept: its last 16 KiB (what an error says is at its end).
    public static let outputLimit = 16 * 1024

    public init() {}

    public func run(
        _ executable: String, _ arguments: [String], deadline: Duration, onLateExit: @escaping @Sendable () -> Void
    ) throws -> (status: Int32, output: String) {
        let output = try Spawn.pipe()
        let pid: pid_t
        do {
            pid = try Spawn.start([executable] + arguments, stdout: output.write, stderr: output.write)
        } catch {
            close(output.read)
            close(output.write)
            throw error
        }
        close(output.write)
        // The output is read while the program runs, so a full pipe never stalls it.
        let captured = LockedValue<(bytes: [UInt8], dropped: Int)>(([], 0))
        let drained = DispatchSemaphore(value: 0)
        DedicatedThread.start {
            captured.withLock { $0 = Spawn.readToEnd(output.read, keepingLast: Self.outputLimit) }
            drained.signal()
        }
        // 0 while waiting, 1 once it ended in time, 2 once the deadline passed: whichever comes first wins.
        let state = Atomic<Int>(0)
        let status = LockedValue<Int32>(-1)
        let ended = DispatchSemaphore(value: 0)
        DedicatedThread.start {
            status.withLock { $0 = Spawn.waitForExit(pid).status }
            if !state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged { onLateExit() }
            ended.signal()
        }
        if ended.wait(timeout: .now() + deadline.inSeconds) == .timedOut {
            if state.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing).exchanged {
                throw CommandTimedOut(command: ([executable] + arguments).joined(separator: " "), deadline: deadline)
            }
            ended.wait()  // It ended just now, in time after all.
        }
        drained.wait()
        let (bytes, dropped) = captured.withLock { $0 }
        let text = String(decoding: bytes, as: UTF8.self).trimmingSpaces().escapingControlCharacters
        return (status.withLock { $0 }, dropped > 0 ? "[\(dropped) bytes before not kept] " + text : text)
    }
}
