#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import COpenat2
import SystemPackage

/// A directory that plays `/sys` or `/proc` (the real ones, or their stand-ins under `--host-root`), inside
/// which every file of it is opened: the kernel resolves each name inside it (openat2's `RESOLVE_BENEATH`),
/// so a link that leads out of it (absolute, or with `..` enough) fails with `EXDEV`, nothing is read or
/// written there, and no `/proc` magic link is followed.
///
/// Where openat2 is missing (Linux before 5.6, or a seccomp filter that hides it), or keeps racing renames,
/// the path is resolved first and checked to lie inside, and its last name is opened without following a link.
public final class ConfinedRoot: Sendable {
    /// The directory, as given.
    public let path: String
    /// The directory opened (`O_PATH`) and its path with every link resolved, once it could be.
    private let opened = LockedValue<(descriptor: Int32, canonical: String)?>(nil)

    /// How often an open that raced a rename is tried before the fallback.
    static let retries = 64

    public init(_ path: String) {
        self.path = path
    }

    deinit {
        if let descriptor = opened.withLock({ $0?.descriptor }) { close(descriptor) }
    }

    /// Opens `file`, a path below this root (as built from ``path``, or as a reading of it resolved it).
    func open(_ file: String, _ flags: Int32, operation: SysfsError.Operation = .open) throws(SysfsError) -> FileDescriptor {
        let (root, canonical) = try rootDescriptor(for: file)
        let relative = try Self.relative(file, to: path, canonical: canonical)
        // With RESOLVE_BENEATH the kernel answers EAGAIN when a rename anywhere (this program's own atomic
        // writes too) raced a `..` of the path (sysfs's links have them): asked again, as openat2(2) says.
        for _ in 0..<Self.retries {
            let fd = copenat2(root, relative.isEmpty ? "." : relative, UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), 0, copenat2_beneath())
            if fd >= 0 { return FileDescriptor(rawValue: fd) }
            switch Errno.current {
            case .resourceTemporarilyUnavailable: continue
            case .noFunction: return try openResolvedFirst(file, flags, operation: operation)
            default: throw SysfsError(operation, file, .current)
            }
        }
        // Renames without end: resolved first instead, which no rename makes fail.
        return try openResolvedFirst(file, flags, operation: operation)
    }

    /// The fallback without openat2: the path resolved and checked to lie inside, then opened with no link
    /// left to follow (the directory alone is resolved when `flags` asks for the link itself).
    func openResolvedFirst(_ file: String, _ flags: Int32, operation: SysfsError.Operation) throws(SysfsError) -> FileDescriptor {
        let resolved = flags & O_NOFOLLOW == 0
            ? try FileSystem.resolve(file, inside: path)
            : try FileSystem.resolve(FileSystem.directory(of: file), inside: path).appending(file.lastPathComponent)
        let fd = Glibc.open(resolved, flags | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw SysfsError(operation, file, .current) }
        return FileDescriptor(rawValue: fd)
    }

    private func rootDescriptor(for file: String) throws(SysfsError) -> (Int32, String) {
        try opened.withLock { (opened) throws(SysfsError) -> (Int32, String) in
            if let opened { return (opened.descriptor, opened.canonical) }
            let fd = Glibc.open(path, FileSystem.pathOnly | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw SysfsError(.open, path, .current) }
            guard let canonical = realpath(path, nil) else {
                let error = Errno.current
                close(fd)
                throw SysfsError(.resolve, path, error)
            }
            defer { free(canonical) }
            opened = (fd, String(cString: canonical))
            return (fd, String(cString: canonical))
        }
    }

    /// `file` relative to the root, which it names as given (`root`) or with every link resolved
    /// (`canonical`, as a resolved reading names it); anything else is refused with `EXDEV`.
    static func relative(_ file: String, to root: String, canonical: String) throws(SysfsError) -> String {
        for base in [root, canonical] {
            if file == base { return "" }
            let prefix = base.hasSuffix("/") ? base : base + "/"
            if file.hasPrefix(prefix) { return String(file.dropFirst(prefix.count)) }
        }
        throw SysfsError(.open, file, .improperLink)
    }
}
