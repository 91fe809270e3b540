#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import SystemPackage

/// A directory this program writes its own files into (the state directory, the status file's, the metrics
/// collector's), opened so that nothing another user planted can redirect a write.
///
/// The path is walked one name at a time from `/` (or the working directory), each name opened relative to
/// the directory before it without following a link. A symbolic link on the way is followed only where the
/// directory holding it is trusted, and the directory reached must be trusted itself. Trusted: owned by root
/// (or by this process's user) and writable by nobody else, so only they can have put anything there.
/// Files are then made and renamed relative to the descriptor, so replacing a directory on the path
/// afterwards changes nothing.
struct TrustedDirectory: ~Copyable {
    let descriptor: FileDescriptor
    let path: String

    /// How many links one walk follows before it gives up (the kernel's own limit).
    private static let linkLimit = 40

    /// Opens the directory at `path`.
    /// - Parameter create: whether missing directories are made (mode 0755).
    /// - Throws: ``SysfsError``: a name is missing, not a directory, a link in an untrusted directory, or the
    ///   directory is not trusted (`EPERM`, with a detail that says why).
    init(_ path: String, create: Bool) throws(SysfsError) {
        descriptor = try Self.walk(to: path, create: create)
        self.path = path
    }

    deinit { try? descriptor.close() }

    /// The walk ``init(_:create:)`` describes: a descriptor of the directory reached, or why there is none.
    private static func walk(to path: String, create: Bool) throws(SysfsError) -> FileDescriptor {
        var pending = path.split(separator: "/").map(String.init)
        var walked = path.hasPrefix("/") ? "" : "."
        var current = try Self.openPath(path.hasPrefix("/") ? "/" : ".", at: nil, shown: path)
        var links = 0
        do throws(SysfsError) {
            while !pending.isEmpty {
                let name = pending.removeFirst()
                if name == "." { continue }
                let shown = walked + "/" + name
                var next: FileDescriptor
                do {
                    next = try Self.openPath(name, at: current, shown: shown)
                } catch where create && error.errno == .noSuchFileOrDirectory && name != ".." {
                    guard mkdirat(current.rawValue, name, 0o755) == 0 || Errno.current == .fileExists else {
                        throw SysfsError(.createDirectory, shown, .current)
                    }
                    next = try Self.openPath(name, at: current, shown: shown)
                }
                let status = try Self.status(next, shown: shown)
                switch status.st_mode & S_IFMT {
                case S_IFDIR:
                    try? current.close()
                    current = next
                    walked = shown
                case S_IFLNK:
                    defer { try? next.close() }
                    let holder = try Self.status(current, shown: walked)
                    guard Self.isTrusted(holder) else {
                        throw SysfsError(.open, shown, .permissionDenied, detail: "a link in \(walked), which \(Self.whoElseWrites(holder)); it is not followed")
                    }
                    links += 1
                    guard links <= Self.linkLimit else { throw SysfsError(.open, path, .tooManySymbolicLinkLevels) }
                    let target = try FileSystem.linkTarget(next.rawValue, "", shown: shown)
                    if target.hasPrefix("/") {
                        let root = try Self.openPath("/", at: nil, shown: shown)
                        try? current.close()
                        current = root
                        walked = ""
                    }
                    pending.insert(contentsOf: target.split(separator: "/").map(String.init), at: 0)
                default:
                    try? next.close()
                    throw SysfsError(.open, shown, .notDirectory)
                }
            }
            let status = try Self.status(current, shown: path)
            guard Self.isTrusted(status) else {
                throw SysfsError(.open, path, .permissionDenied, detail: "this directory \(Self.whoElseWrites(status)); nothing is written there")
            }
        } catch {
            try? current.close()
            throw error
        }
        return current
    }

    /// Writes `bytes` to `name` in this directory, atomically: a new file of a random name made here
    /// (`O_CREAT|O_EXCL|O_NOFOLLOW`: never one that was there before, nor a link), flushed, then renamed over
    /// `name`. A reader sees the old file or the new one, never half of one, even after a crash.
    /// - Parameter mode: the new file's permissions whatever the umask; nil leaves them to the umask.
    func replace(_ name: String, with bytes: [UInt8], mode: FilePermissions?) throws(SysfsError) {
        let target = path.appending(name)
        let temporary = ".\(name).\(String(UInt64.random(in: .min ... .max), radix: 16)).new"
        let fd = openat(
            descriptor.rawValue, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o644))
        guard fd >= 0 else { throw SysfsError(.open, path.appending(temporary), .current) }
        let file = FileDescriptor(rawValue: fd)
        do {
            _ = try file.closeAfter {
                if let mode, fchmod(file.rawValue, mode.rawValue) != 0 { throw Errno.current }
                _ = try file.writeAll(bytes)
                guard fsync(file.rawValue) == 0 else { throw Errno.current }
            }
        } catch {
            unlinkat(descriptor.rawValue, temporary, 0)
            throw SysfsError(.write, target, error)
        }
        guard renameat(descriptor.rawValue, temporary, descriptor.rawValue, name) == 0 else {
            let error = Errno.current
            unlinkat(descriptor.rawValue, temporary, 0)
            throw SysfsError(.rename, target, error)
        }
    }

    /// Whether only root or this process's user can change what is in a directory (or what a link says).
    static func isTrusted(_ status: stat) -> Bool {
        (status.st_uid == 0 || status.st_uid == geteuid()) && status.st_mode & (S_IWGRP | S_IWOTH) == 0
    }

    private static func whoElseWrites(_ status: stat) -> String {
        let mode = String(status.st_mode & 0o7777, radix: 8)
        return status.st_uid == 0 || status.st_uid == geteuid()
            ? "others can write to (mode 0\(mode))"
            : "belongs to user \(status.st_uid) (mode 0\(mode))"
    }

    private static func openPath(_ name: String, at directory: FileDescriptor?, shown: String) throws(SysfsError) -> FileDescriptor {
        let fd = openat(directory?.rawValue ?? AT_FDCWD, name, FileSystem.pathOnly | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SysfsError(.open, shown, .current) }
        return FileDescriptor(rawValue: fd)
    }

    private static func status(_ fd: FileDescriptor, shown: String) throws(SysfsError) -> stat {
        var status = stat()
        guard fstat(fd.rawValue, &status) == 0 else { throw SysfsError(.open, shown, .current) }
        return status
    }
}
