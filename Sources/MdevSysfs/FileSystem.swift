#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import SystemPackage

/// Thin wrappers over the few file system calls this module makes, each throwing a typed ``SysfsError``.
///
/// Every path that is written to is one that was discovered by listing or resolving sysfs; these
/// functions never build a path from configuration text.
enum FileSystem {
    /// The content of a small file (sysfs attributes are at most a page).
    static func readText(_ path: String) throws(SysfsError) -> String {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch { throw SysfsError(.open, path, error) }
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
            } catch { throw SysfsError(.read, path, error) }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` with one `write(2)`: sysfs attributes take a whole value per write.
    static func write(_ text: String, to path: String) throws(SysfsError) {
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

    /// The names in a directory, without `.` and `..`, sorted.
    static func list(_ path: String) throws(SysfsError) -> [String] {
        guard let directory = opendir(path) else { throw SysfsError(.list, path, .current) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The target of a symbolic link, as stored.
    static func readLink(_ path: String) throws(SysfsError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw SysfsError(.readLink, path, .current) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The path with every symbolic link resolved.
    static func resolve(_ path: String) throws(SysfsError) -> String {
        guard let resolved = realpath(path, nil) else { throw SysfsError(.resolve, path, .current) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The path with every symbolic link resolved, refused (EXDEV) unless it lies inside `root` (itself
    /// resolved), the way openat2's RESOLVE_BENEATH refuses: a link in a host tree (an absolute one, or one
    /// with `..` enough) never leads a read or a write out of it, to the real `/sys`.
    static func resolve(_ path: String, inside root: String) throws(SysfsError) -> String {
        let base = try resolve(root)
        let resolved = try resolve(path)
        guard resolved == base || resolved.hasPrefix(base == "/" ? "/" : base + "/") else {
            throw SysfsError(.resolve, path, .improperLink)
        }
        return resolved
    }

    /// Writes `text` to `path` after checking that it resolves inside `root` (``resolve(_:inside:)``).
    static func write(_ text: String, to path: String, inside root: String) throws(SysfsError) {
        try write(text, to: try resolve(path, inside: root))
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
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
