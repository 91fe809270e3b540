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
///
/// A directory that does not exist (yet, or any more) is waited for: its nearest existing ancestor is
/// watched for directories appearing, and once it exists it is watched too, and a change is reported (its
/// files may have been written before the watch was in place).
public final class FileChangeWatcher: @unchecked Sendable {
    // Invariant: `source`, `watched` and `waiting` are touched only on `queue` after `init`.
    private let fd: Int32
    private let queue: DispatchQueue
    private var source: DispatchSourceRead?
    /// The watched names in each directory, by directory.
    private let wanted: [String: Set<String>]
    /// The directory of each watch on a wanted directory.
    private var watched: [Int32: String] = [:]
    /// Ancestors watched for a wanted directory to appear, by watch.
    private var waiting: [Int32: String] = [:]

    private static let directoryMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)
        | UInt32(IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_EXCL_UNLINK) | UInt32(IN_MASK_ADD)
    private static let ancestorMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_MASK_ADD)

    /// Watches `files`, waiting for those whose directory does not exist yet.
    public init(files: [String], queue: DispatchQueue) throws(DaemonSetupError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw DaemonSetupError("inotify_init1: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.queue = queue
        wanted = Dictionary(grouping: files, by: Self.directory(of:)).mapValues { Set($0.map(Self.name(of:))) }
        do {
            _ = try arm()
        } catch {
            close(fd)
            throw error
        }
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

    /// Watches every wanted directory that exists and is not watched, and the nearest existing ancestor of
    /// each that does not exist. Returns whether a wanted directory is watched now that was not before.
    private func arm() throws(DaemonSetupError) -> Bool {
        var appeared = false
        let before = waiting
        waiting = [:]
        defer {
            // Ancestors no longer waited on are not watched any more (unless the same directory is wanted).
            for watch in before.keys where waiting[watch] == nil && watched[watch] == nil { inotify_rm_watch(fd, watch) }
        }
        for directory in wanted.keys.sorted() where !watched.values.contains(directory) {
            if FileSystem.isDirectory(directory) {
                watched[try watch(directory, mask: Self.directoryMask)] = directory
                appeared = true
            } else {
                var ancestor = Self.directory(of: directory)
                while !FileSystem.isDirectory(ancestor) { ancestor = Self.directory(of: ancestor) }
                waiting[try watch(ancestor, mask: Self.ancestorMask)] = ancestor
            }
        }
        return appeared
    }

    private func watch(_ directory: String, mask: UInt32) throws(DaemonSetupError) -> Int32 {
        let watch = inotify_add_watch(fd, directory, mask)
        guard watch >= 0 else { throw DaemonSetupError("cannot watch \(directory): \(String(cString: strerror(errno)))") }
        return watch
    }

    /// Reads every queued inotify event; returns whether any is relevant.
    private func drain() -> Bool {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        var relevant = false
        var rearm = false
        while true {
            let count = read(fd, buffer, size)
            if count <= 0 { break }  // EAGAIN: drained.
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = buffer + offset + MemoryLayout<inotify_event>.size
                let name = event.len > 0 ? String(cString: nameStart.assumingMemoryBound(to: CChar.self)) : ""
                if event.mask & UInt32(IN_IGNORED) != 0 {
                    // The directory went: wait for it to come back.
                    if watched.removeValue(forKey: event.wd) != nil { relevant = true }
                    waiting[event.wd] = nil
                    rearm = true
                } else if waiting[event.wd] != nil && event.mask & UInt32(IN_ISDIR) != 0 {
                    rearm = true
                }
                if isRelevant(mask: event.mask, watch: event.wd, name: name) { relevant = true }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
        // A directory that appeared may already hold the files: that counts as a change.
        if rearm, (try? arm()) == true { relevant = true }
        return relevant
    }

    private func isRelevant(mask: UInt32, watch: Int32, name: String) -> Bool {
        guard let directory = watched[watch] else { return mask & UInt32(IN_Q_OVERFLOW) != 0 }
        return Self.isRelevant(mask: mask, name: name, watchedNames: wanted[directory] ?? []) {
            FileSystem.isSymbolicLink(directory + "/" + name)
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
