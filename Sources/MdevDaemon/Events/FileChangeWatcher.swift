import Dispatch
import Glibc
import MdevSysfs

/// Watches files for changes of their content, through inotify on their DIRECTORIES.
///
/// Editors replace files by rename, and Kubernetes ConfigMap volumes swap a `..data` symlink, so a watch
/// on the file's inode would miss both. A change is reported when, in a watched directory:
/// - a watched name is closed after writing, moved in, deleted or moved away, or its attributes change;
/// - a watched name or `..data` appears as a symbolic link, or `..data` is moved in (the ConfigMap swap);
/// - the directory itself is deleted or moved, or the kernel's event queue overflowed.
/// A file merely created is not reported until its writer closes it: a half-written config is never read
/// on purpose (and a config that does not parse is rejected anyway).
public final class FileChangeWatcher: @unchecked Sendable {
    // Invariant: `source` is touched only on `queue` after `init`.
    private let fd: Int32
    private let queue: DispatchQueue
    private var source: DispatchSourceRead?
    /// Watched names, and the directory, per watch descriptor.
    private let names: [Int32: Set<String>]
    private let directories: [Int32: String]

    /// Watches `files` (their directories must exist).
    public init(files: [String], queue: DispatchQueue) throws(DaemonSetupError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw DaemonSetupError("inotify_init1: \(String(cString: strerror(errno)))") }
        let byDirectory = Dictionary(grouping: files, by: Self.directory(of:))
        var names: [Int32: Set<String>] = [:]
        var directories: [Int32: String] = [:]
        for (directory, files) in byDirectory {
            let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)
                | UInt32(IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_EXCL_UNLINK)
            let watch = inotify_add_watch(fd, directory, mask)
            guard watch >= 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw DaemonSetupError("cannot watch \(directory): \(reason)")
            }
            names[watch, default: []].formUnion(files.map(Self.name(of:)))
            directories[watch] = directory
        }
        self.fd = fd
        self.queue = queue
        self.names = names
        self.directories = directories
    }

    deinit {
        if let source { source.cancel() } else { close(fd) }
    }

    /// Starts calling `changed` (on the watcher's queue) for every relevant change.
    public func start(_ changed: @escaping @Sendable () -> Void) {
        queue.async { [self] in
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [self] in if drain() { changed() } }
            source.setCancelHandler { [fd] in close(fd) }
            self.source = source
            source.activate()
        }
    }

    public func stop() {
        queue.async { [self] in source?.cancel() }
    }

    /// Reads every queued inotify event; returns whether any is relevant.
    private func drain() -> Bool {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        var relevant = false
        while true {
            let count = read(fd, buffer, size)
            if count <= 0 { return relevant }  // EAGAIN: drained.
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = buffer + offset + MemoryLayout<inotify_event>.size
                let name = event.len > 0 ? String(cString: nameStart.assumingMemoryBound(to: CChar.self)) : ""
                if isRelevant(mask: event.mask, watch: event.wd, name: name) { relevant = true }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
    }

    private func isRelevant(mask: UInt32, watch: Int32, name: String) -> Bool {
        Self.isRelevant(mask: mask, name: name, watchedNames: names[watch] ?? []) {
            guard let directory = directories[watch] else { return false }
            return FileSystem.isSymbolicLink(directory + "/" + name)
        }
    }

    /// Whether an inotify event in a watched directory may have changed a watched file's content.
    static func isRelevant(mask: UInt32, name: String, watchedNames: Set<String>, isSymbolicLink: () -> Bool) -> Bool {
        if mask & UInt32(IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 { return true }
        guard watchedNames.contains(name) || name == "..data" else { return false }
        // A new symbolic link is complete when created; a new regular file is not until closed.
        if mask & UInt32(IN_CREATE) != 0 { return isSymbolicLink() }
        return name != "..data" || mask & UInt32(IN_MOVED_TO) != 0
    }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }

    static func name(of file: String) -> String {
        file.lastIndex(of: "/").map { String(file[file.index(after: $0)...]) } ?? file
    }
}
