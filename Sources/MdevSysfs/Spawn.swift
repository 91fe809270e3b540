#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import SystemPackage

/// Starting, reading and reaping other programs: the one `posix_spawn` of the program (``ProcessRunner``)
/// and of its tests. Foundation's `Process` is not used: it leaks on every run, which LeakSanitizer reports.
public enum Spawn {
    /// How a program ended.
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

    /// A pipe; both ends close on exec (pipe2 is not in Glibc's Swift module, so close-on-exec is set right
    /// after: programs are started one at a time, so no other child can inherit the ends in between).
    public static func pipe() throws(Errno) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard Glibc.pipe(&ends) == 0 else { throw Errno(rawValue: errno) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// Starts `arguments[0]` with `arguments`: stdin from `/dev/null`, stdout and stderr onto the given
    /// descriptors, every signal unblocked and at its default action (the daemon blocks the ones it reads
    /// from a signalfd, and a child must not inherit that).
    /// - Parameter environment: `KEY=value` strings; nil for this process's environment.
    public static func start(_ arguments: [String], environment: [String]? = nil, stdout: Int32, stderr: Int32) throws(Errno) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // dup2 clears close-on-exec on the copies.
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
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
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup($0) } + [nil] }
        defer { (argv + (envp ?? [])).forEach { free($0) } }
        var pid: pid_t = 0
        let result = envp.map { posix_spawn(&pid, arguments[0], &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw Errno(rawValue: result) }
        return pid
    }

    /// Everything until end of file, then closes `descriptor`; `chunk` sees each piece as it is read.
    /// - Parameter keepingLast: keep only this many bytes, the last ones read (a program that prints without
    ///   end fills no memory); nil keeps everything.
    /// - Returns: What was kept, and how many bytes before it were not.
    public static func readToEnd(
        _ descriptor: Int32, keepingLast limit: Int? = nil, chunk: ((ArraySlice<UInt8>) -> Void)? = nil
    ) -> (bytes: [UInt8], dropped: Int) {
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var dropped = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[..<count]
            chunk?(buffer[..<count])
            // Trimmed once the surplus is as large as what is kept: each byte is moved at most once.
            if let limit, bytes.count > 2 * limit {
                dropped += bytes.count - limit
                bytes.removeFirst(bytes.count - limit)
            }
        }
        if let limit, bytes.count > limit {
            dropped += bytes.count - limit
            bytes.removeFirst(bytes.count - limit)
        }
        return (bytes, dropped)
    }

    /// Reaps `pid`, waiting until it ends.
    public static func waitForExit(_ pid: pid_t) -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return .exited(-1) }
        }
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }
}
