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
    /// The content of a small file (sysfs attributes are at most a page).
    public static func readText(_ path: String) throws(SysfsError) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// The content of a regular file, read to its end.
    ///
    /// Every file this program reads is a regular file (sysfs and procfs attributes, its config, labels and
    /// records); anything else (a FIFO, a socket, a device) is refused with `ESPIPE` before a read could block
    /// forever, a directory with `EISDIR`.
    /// - Parameter limit: the most bytes accepted; a longer file is refused with `EFBIG` after reading at
    ///   most one byte more.
    public static func readBytes(_ path: String, limit: Int? = nil) throws(SysfsError) -> [UInt8] {
        let fd: FileDescriptor
        do {
            // Non-blocking, so that opening a FIFO does not wait for a writer.
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch { throw SysfsError(.open, path, error) }
        defer { try? fd.close() }
        var status = stat()
        guard fstat(fd.rawValue, &status) == 0 else { throw SysfsError(.read, path, .current) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw SysfsError(.read, path, .isDirectory)
        default: throw SysfsError(.read, path, .illegalSeek)
        }
        // A file whose size is known (on disk; a sysfs attribute says 4096) ends at a short read. A procfs
        // file says 0 and gives whole lines per read, fewer bytes than asked for, until its real end.
        return try readToEnd(fd, path, limit: limit, shortReadIsEnd: status.st_size > 0)
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

    /// Writes `text` with one `write(2)`: sysfs attributes take a whole value per write.
    public static func write(_ text: String, to path: String) throws(SysfsError) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.closeOnExec])
        } catch { throw SysfsError(.open, path, error) }
        defer { try? fd.close() }
        do {
            let bytes = Array(text.utf8)
            let written = try bytes.withUnsafeBytes { try fd.write($0, retryOnInterrupt: true) }
            if written != bytes.count { throw Errno.ioError }
        } catch { throw SysfsError(.write, path, error) }
    }

    /// The names in a directory, without `.` and `..`, sorted. A name with a control character is left out:
    /// the kernel gives none in sysfs or procfs, and such a name could not be printed as it is.
    public static func list(_ path: String) throws(SysfsError) -> [String] {
        guard let directory = opendir(path) else { throw SysfsError(.list, path, .current) }
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
    public static func readLink(_ path: String) throws(SysfsError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw SysfsError(.readLink, path, .current) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

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

    /// Writes `text` to `path` after checking that it resolves inside `root` (``resolve(_:inside:)``).
    public static func write(_ text: String, to path: String, inside root: String) throws(SysfsError) {
        try write(text, to: try resolve(path, inside: root))
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

    /// Whether anything is at `path` (a link is followed).
    public static func exists(_ path: String) -> Bool {
        (try? Stat(FilePath(path))) != nil
    }

    /// Whether `path` itself is a symbolic link.
    public static func isSymbolicLink(_ path: String) -> Bool {
        (try? Stat(FilePath(path), followTargetSymlink: false))?.type == .symbolicLink
    }

    /// Whether `path` is a directory (a link is followed).
    public static func isDirectory(_ path: String) -> Bool {
        (try? Stat(FilePath(path)))?.type == .directory
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
