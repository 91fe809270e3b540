import Dispatch
import Glibc
import Synchronization
import SystemPackage

/// Runs an external program: the real one, or a fake in tests.
public protocol CommandRunning: Sendable {
    /// Runs `executable` with `arguments`, waiting at most `deadline` for it to end.
    /// - Parameter onLateExit: called when a program that missed its deadline ends at last.
    /// - Returns: The exit status and what it printed on stdout and stderr together.
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

/// Runs programs with `posix_spawn`: stdin from `/dev/null`, stdout and stderr captured together, every
/// signal unblocked and at its default action (the daemon blocks the ones it reads from a signalfd, and a
/// child must not inherit that), on the calling thread (callers keep it off the cooperative pool).
///
/// The exit status is the program's, or 128 + the signal number when a signal ended it, as shells report it.
public struct ProcessRunner: CommandRunning {
    public init() {}

    public func run(
        _ executable: String, _ arguments: [String], deadline: Duration, onLateExit: @escaping @Sendable () -> Void
    ) throws -> (status: Int32, output: String) {
        let (pid, output) = try Self.spawn(executable, arguments)
        // The output is read while the program runs, so a full pipe never stalls it.
        let captured = LockedValue<[UInt8]>([])
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            captured.withLock { $0 = Self.readToEnd(output) }
            drained.signal()
        }
        // 0 while waiting, 1 once it ended in time, 2 once the deadline passed: whichever comes first wins.
        let state = Atomic<Int>(0)
        let status = LockedValue<Int32>(-1)
        let ended = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            status.withLock { $0 = Self.waitForExit(pid) }
            if !state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged { onLateExit() }
            ended.signal()
        }
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        if ended.wait(timeout: .now() + seconds) == .timedOut {
            if state.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing).exchanged {
                throw CommandTimedOut(command: ([executable] + arguments).joined(separator: " "), deadline: deadline)
            }
            ended.wait()  // It ended just now, in time after all.
        }
        drained.wait()
        return (status.withLock { $0 }, String(decoding: captured.withLock { $0 }, as: UTF8.self))
    }

    /// Starts the program; returns its pid and the read end of its output pipe.
    private static func spawn(_ executable: String, _ arguments: [String]) throws(Errno) -> (pid_t, Int32) {
        var ends: [Int32] = [-1, -1]
        // pipe2 is not in Glibc's Swift module: close-on-exec is set right after (only this runner spawns,
        // one program at a time, so no other child can inherit the ends in between).
        guard pipe(&ends) == 0 else { throw Errno(rawValue: errno) }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // dup2 clears close-on-exec on the copies; both pipe ends themselves close on exec.
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(writeEnd)
        guard result == 0 else {
            close(readEnd)
            throw Errno(rawValue: result)
        }
        return (pid, readEnd)
    }

    /// Everything until end of file, then closes `descriptor`.
    private static func readToEnd(_ descriptor: Int32) -> [UInt8] {
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 { bytes += buffer[..<count]; continue }
            if count < 0 && errno == EINTR { continue }
            return bytes
        }
    }

    /// Reaps `pid`; its exit status, or 128 + the signal that ended it.
    private static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
