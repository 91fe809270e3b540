#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import MdevModel
import SystemPackage

/// The program's one file system layer: every file system call of every module goes through these thin
/// wrappers over swift-system (and the few calls it lacks), each throwing a typed ``SysfsError`` that carries
/// the errno.
///
/// Every path that is written to under sysfs is one that was discovered by listing or resolving sysfs;
/// these functions never build a path from configuration text.
public enum FileSystem {
    /// The content of a small file (sysfs attributes are at most a page), at most ``attributeLimit`` bytes.
    /// - Parameter root: the root the file lies in (sysfs, procfs); nil for a file named by the user.
    public static func readText(_ path: String, inside root: ConfinedRoot? = nil) throws(SysfsError) -> String {
        String(decoding: try readBytes(path, limit: attributeLimit, inside: root), as: UTF8.self)
    }

    /// The most bytes ``readText(_:inside:)`` reads: 1 MiB, far more than a sysfs attribute (a page) or a
    /// procfs file read here holds.
    public static let attributeLimit = 1 << 20

    /// The content of a regular file, read to its end.
    ///
    /// Every file this program reads is a regular file (sysfs and procfs attributes, its config, labels and
    /// records); anything else (a FIFO, a socket, a device) is refused with `ESPIPE` before a read could block
    /// forever, a directory with `EISDIR`.
    /// - Parameter limit: the most bytes accepted; a longer file is refused with `EFBIG` after reading at
    ///   most one byte more.
    /// - Parameter root: the root the file lies in (``ConfinedRoot``); nil for a file named by the user.
    public static func readBytes(_ path: String, limit: Int? = nil, inside root: ConfinedRoot? = nil) throws(SysfsError) -> [UInt8] {
        // Non-blocking, so that opening a FIFO does not wait for a writer.
        let fd = try open(path, O_RDONLY | O_NONBLOCK, inside: root)
        defer { try? fd.close() }
        let status = try regularFile(fd, path, operation: .read)
        // A file whose size is known (on disk; a sysfs attribute says 4096) ends at a short read. A procfs
        // file says 0 and gives whole lines per read, fewer bytes than asked for, until its real end.
        return try readToEnd(fd, path, limit: limit, shortReadIsEnd: status.st_size > 0)
    }

    /// Opens `path` inside `root`, or as it is without one.
    private static func open(
        _ path: String, _ flags: Int32, inside root: ConfinedRoot?, operation: SysfsError.Operation = .open
    ) throws(SysfsError) -> FileDescriptor {
        if let root { return try root.open(path, flags, operation: operation) }
        let fd = Glibc.open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw SysfsError(operation, path, .current) }
        return FileDescriptor(rawValue: fd)
    }

    /// The status of an opened file, refused unless it is a regular file: `EISDIR` for a directory, `ESPIPE`
    /// for a FIFO, socket or device, which could block a read or write forever.
    private static func regularFile(_ fd: FileDescriptor, _ path: String, operation: SysfsError.Operation) throws(SysfsError) -> stat {
        var status = stat()
        guard fstat(fd.rawValue, &status) == 0 else { throw SysfsError(operation, path, .current) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return status
        case S_IFDIR: throw SysfsError(operation, path, .isDirectory)
        default: throw SysfsError(operation, path, .illegalSeek)
        }
    }

    /// Standard input to its end, refused once it holds more than `limit` bytes (the config of a pipeline).
    public static func readStandardInput(limit: Int? = nil) throws(SysfsError) -> [UInt8] {
        try readToEnd(.standardInput, "standard input", limit: limit)
    }

    /// - Parameter shortReadIsEnd: for a regular file of a known size (sysfs attributes included), a read that
    ///   returns less than asked for reached the end: the read of nothing that would confirm it is skipped (a
    ///   fifth of the system calls of reading a parent).
    private static func readToEnd(_ fd: FileDescriptor, _ path: String, limit: Int?, shortReadIsEnd: Bool = false) throws(SysfsError) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
            } catch { throw SysfsError(.read, path, error) }
            if count == 0 { break }
            bytes += buffer[0..<count]
            if let limit, bytes.count > limit { throw SysfsError(.read, path, .fileTooLarge) }
            if shortReadIsEnd && count < buffer.count { break }
        }
        return bytes
    }

    /// Writes `text` with one `write(2)` (sysfs attributes take a whole value per write) to the regular file
    /// `path` inside `root`. Anything else is refused before a byte is written: a FIFO, socket or device
    /// (`ESPIPE`; it is opened without blocking, and a FIFO without a reader fails with `ENXIO`), a link out
    /// of the root (`EXDEV`).
    public static func write(_ text: String, to path: String, inside root: ConfinedRoot) throws(SysfsError) {
        let fd = try open(path, O_WRONLY | O_NONBLOCK, inside: root)
        defer { try? fd.close() }
        _ = try regularFile(fd, path, operation: .write)
        do {
            let bytes = Array(text.utf8)
            let written = try bytes.withUnsafeBytes { try fd.write($0, retryOnInterrupt: true) }
            if written != bytes.count { throw Errno.ioError }
        } catch { throw SysfsError(.write, path, error) }
    }

    /// The names in a directory, without `.` and `..`, sorted. A name with a control character is left out:
    /// the kernel gives none in sysfs or procfs, and such a name could not be printed as it is.
    public static func list(_ path: String, inside root: ConfinedRoot? = nil) throws(SysfsError) -> [String] {
        let fd = try open(path, O_RDONLY | O_DIRECTORY, inside: root, operation: .list)
        guard let directory = fdopendir(fd.rawValue) else {
            let error = Errno.current
            try? fd.close()
            throw SysfsError(.list, path, error)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            // readdir returns nil at the end and on an error, which only errno tells apart.
            Glibc.errno = 0
            guard let entry = readdir(directory) else {
                if Glibc.errno != 0 { throw SysfsError(.list, path, .current) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != "..", !name.hasControlCharacters { names.append(name) }
        }
        return names.sorted()
    }

    /// The target of a symbolic link, as stored.
    public static func readLink(_ path: String, inside root: ConfinedRoot? = nil) throws(SysfsError) -> String {
        guard let root else { return try linkTarget(AT_FDCWD, path, shown: path) }
        let link = try root.open(path, pathOnly | O_NOFOLLOW, operation: .readLink)
        defer { try? link.close() }
        return try linkTarget(link.rawValue, "", shown: path)
    }

    /// The target of the link `name` in the directory `directory` (`AT_FDCWD`: the working directory); with
    /// `name` empty, of the link `directory` itself names (opened `O_PATH|O_NOFOLLOW`). `shown` names it in errors.
    static func linkTarget(_ directory: Int32, _ name: String, shown: String) throws(SysfsError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard count >= 0 else { throw SysfsError(.readLink, shown, .current) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `O_PATH` (Linux), which the Glibc module does not export: a descriptor that names a file without
    /// opening it for reading or writing.
    static let pathOnly: Int32 = 0o10_000_000

    /// The path with every symbolic link resolved.
    public static func resolve(_ path: String) throws(SysfsError) -> String {
        guard let resolved = realpath(path, nil) else { throw SysfsError(.resolve, path, .current) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The path with every symbolic link resolved, refused (EXDEV) unless it lies inside `root` (itself
    /// resolved), the way openat2's RESOLVE_BENEATH refuses: a link in a host tree (an absolute one, or one
    /// with `..` enough) never leads a read or a write out of it, to the real `/sys`.
    public static func resolve(_ path: String, inside root: String) throws(SysfsError) -> String {
        let base = try resolve(root)
        let resolved = try resolve(path)
        guard resolved == base || resolved.hasPrefix(base == "/" ? "/" : base + "/") else {
            throw SysfsError(.resolve, path, .improperLink)
        }
        return resolved
    }

    /// Writes `bytes` to `path` atomically, in a ``TrustedDirectory`` (created first unless
    /// `createDirectory` is false): a new file that nothing planted can redirect, flushed and renamed over
    /// `path`. A reader sees the old file or the new one, never half of one, even after a crash.
    /// - Parameter mode: the file's permissions whatever the umask (a file another user's program reads);
    ///   nil leaves them to the umask.
    public static func writeAtomically(
        _ bytes: [UInt8], to path: String, createDirectory: Bool = true, mode: FilePermissions? = nil
    ) throws(SysfsError) {
        let directory = try TrustedDirectory(parentDirectory(of: path), create: createDirectory)
        try directory.replace(path.lastPathComponent, with: bytes, mode: mode)
    }

    /// Throws what ``writeAtomically(_:to:createDirectory:mode:)`` without `createDirectory` would throw
    /// for `path`'s directory (missing, not a directory, or one others could redirect a write in), writing
    /// nothing.
    public static func checkWritableDirectory(of path: String) throws(SysfsError) {
        _ = try TrustedDirectory(parentDirectory(of: path), create: false)
    }

    /// The directory a file of `path` is in, as a path that can be opened: `/` or `.` for a file there.
    private static func parentDirectory(of path: String) -> String {
        let parent = directory(of: path)
        return parent.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : parent
    }

    /// The directory part of `path` (`/var/lib/x` of `/var/lib/x/f`); empty for a name without a slash.
    public static func directory(of path: String) -> String {
        String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    }

    /// Creates `path` and every missing directory above it.
    public static func createDirectories(_ path: String) throws(SysfsError) {
        if isDirectory(path) { return }
        let parent = directory(of: path)
        if !parent.isEmpty { try createDirectories(parent) }
        guard mkdir(path, 0o755) == 0 || Errno.current == .fileExists else { throw SysfsError(.createDirectory, path, .current) }
    }

    /// Removes the file at `path`; one that is not there is no error.
    public static func removeFile(_ path: String) throws(SysfsError) {
        guard unlink(path) == 0 || Errno.current == .noSuchFileOrDirectory else { throw SysfsError(.remove, path, .current) }
    }

    /// Whether anything is at `path` (a link is followed; inside `root`, only where it stays inside).
    public static func exists(_ path: String, inside root: ConfinedRoot? = nil) -> Bool {
        guard let root else { return (try? Stat(FilePath(path))) != nil }
        guard let fd = try? root.open(path, pathOnly) else { return false }
        try? fd.close()
        return true
    }

    /// Whether `path` itself is a symbolic link.
    public static func isSymbolicLink(_ path: String) -> Bool {
        (try? Stat(FilePath(path), followTargetSymlink: false))?.type == .symbolicLink
    }

    /// Whether `path` is a directory (a link is followed; inside `root`, only where it stays inside).
    public static func isDirectory(_ path: String, inside root: ConfinedRoot? = nil) -> Bool {
        guard let root else { return (try? Stat(FilePath(path)))?.type == .directory }
        guard let fd = try? root.open(path, pathOnly | O_DIRECTORY) else { return false }
        try? fd.close()
        return true
    }
}

extension Errno {
    /// The calling thread's `errno`.
    static var current: Errno { Errno(rawValue: Glibc.errno) }
}

extension String {
    /// The last path component.
    var lastPathComponent: String {
        split(separator: "/").last.map(String.init) ?? self
    }

    /// `self` + `/` + `component`.
    func appending(_ component: String) -> String {
        hasSuffix("/") ? self + component : self + "/" + component
    }
}
