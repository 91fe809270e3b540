import Dispatch
import Glibc
import MdevSysfs
import SystemPackage

/// A program a test starts (the built `mdev-reconciler`, `cp`), with `posix_spawn`: its stdout and stderr
/// read on threads of their own as they come (stderr also line by line, for waiting on a log line), its
/// end reaped on another, so a test can send it signals and wait for it.
///
/// Tests do not use Foundation's `Process`: it leaks on every run (a weak reference side table, and with
/// pipes and handlers a cycle), which LeakSanitizer reports in the test process.
public final class ChildProcess: Sendable {
    /// How the program ended.
    public enum Termination: Sendable, Hashable {
        case exited(Int32)
        case signaled(Int32)

        /// The status a shell reports: the exit code, or 128 + the signal number.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    public let pid: pid_t
    private let termination = LockedValue<Termination?>(nil)
    private let standardOutput = LockedValue<[UInt8]>([])
    private let standardError = LockedValue<[UInt8]>([])
    /// Left when the program has been reaped.
    private let exited = DispatchGroup()
    /// Left when both pipes reached their end.
    private let drained = DispatchGroup()

    /// Starts `executable` with `arguments`, in `directory` when given, stdin from `/dev/null`.
    /// - Parameter stderrLine: called with each line the program writes to stderr, as it comes.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String], directory: String? = nil,
        stderrLine: (@Sendable (String) -> Void)? = nil
    ) throws(Errno) {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0 else { throw Errno(rawValue: errno) }
        guard pipe(&err) == 0 else { throw Errno(rawValue: errno) }
        for end in out + err { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
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
        // posix_spawn_file_actions_addchdir_np is not in Glibc's Swift module: a shell changes directory.
        let command = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0]!, &actions, &attributes, argv, envp)
        close(out[1])
        close(err[1])
        guard result == 0 else {
            close(out[0])
            close(err[0])
            throw Errno(rawValue: result)
        }
        self.pid = pid
        let child = pid
        Self.drain(out[0], into: standardOutput, group: drained, line: nil)
        Self.drain(err[0], into: standardError, group: drained, line: stderrLine)
        exited.enter()
        DispatchQueue.global().async { [termination, exited] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 && errno == EINTR {}
            let signal = status & 0x7F
            termination.withLock { $0 = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal) }
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
        DispatchQueue.global().async {
            defer { close(descriptor); group.leave() }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var pending: [UInt8] = []
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                bytes.withLock { $0 += buffer[..<count] }
                guard let line else { continue }
                pending += buffer[..<count]
                while let newline = pending.firstIndex(of: 10) {
                    line(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
            }
            if let line, !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
        }
    }
}
