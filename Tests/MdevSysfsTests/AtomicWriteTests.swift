import Dispatch
import Glibc
import MdevTestSupport
import SystemPackage
import Testing

@testable import MdevSysfs

/// The program's own files are written so that nothing another user planted can redirect them (README,
/// "Security"). These tests run as root, as the daemon does, and play the other user with uid 65534.
@Suite("Files nothing planted can redirect: atomic writes, reads inside a root")
struct AtomicWriteTests {
    static let otherUser: uid_t = 65534

    /// A directory tree for one test, with a file that must stay as it is (playing /etc/shadow).
    struct Tree {
        let root: String
        let victim: String

        init() throws {
            let builder = try SysfsTreeBuilder.temporary()
            root = builder.root
            victim = root + "/shadow"
            try FileSystem.writeAtomically(Array("root:*:20228:0:99999:7:::\n".utf8), to: victim, mode: [.ownerReadWrite])
        }

        func directory(_ name: String, owner: uid_t = 0, mode: mode_t = 0o755) throws -> String {
            let path = root + "/" + name
            try #require(mkdir(path, mode) == 0 || errno == EEXIST)
            try #require(chown(path, owner, owner) == 0 && chmod(path, mode) == 0)
            return path
        }

        func link(_ path: String, to target: String) throws {
            try #require(symlink(target, path) == 0)
        }

        /// The victim is as it was: same content, still readable by its owner only.
        func expectVictimUntouched(sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try FileSystem.readText(victim) == "root:*:20228:0:99999:7:::\n", sourceLocation: sourceLocation)
            var status = stat()
            try #require(stat(victim, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600, sourceLocation: sourceLocation)
        }

        func removeAll() { try? SysfsTreeBuilder(root: root).removeAll() }
    }

    @Test("A link planted at FILE.new is not written through, nor made readable: the file is replaced beside it")
    func plantedTemporaryName() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let directory = try tree.directory("collector")
        try tree.link(directory + "/mdev-reconciler.prom.new", to: tree.victim)
        try FileSystem.writeAtomically(Array("metric 1\n".utf8), to: directory + "/mdev-reconciler.prom", createDirectory: false, mode: [.ownerReadWrite, .groupRead, .otherRead])
        try tree.expectVictimUntouched()
        #expect(try FileSystem.readText(directory + "/mdev-reconciler.prom") == "metric 1\n")
        #expect(try FileSystem.list(directory) == ["mdev-reconciler.prom", "mdev-reconciler.prom.new"])
    }

    @Test("Debian's collector directory replaced by the prometheus user's own: refused, nothing written")
    func replacedCollectorDirectory() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        // /var/lib/prometheus belongs to prometheus; node-exporter/ below it to root, until prometheus swaps it.
        let prometheus = try tree.directory("prometheus", owner: Self.otherUser)
        let collector = try tree.directory("prometheus/node-exporter", owner: Self.otherUser)
        try tree.link(collector + "/mdev-reconciler.prom.new", to: tree.victim)
        let error = #expect(throws: SysfsError.self) {
            try FileSystem.writeAtomically(Array("metric 1\n".utf8), to: collector + "/mdev-reconciler.prom", createDirectory: false, mode: [.ownerReadWrite, .groupRead, .otherRead])
        }
        #expect(error?.errno == .permissionDenied)
        #expect(error?.description == "open \(collector): \(Errno.permissionDenied) (this directory belongs to user 65534 (mode 0755); nothing is written there)")
        try tree.expectVictimUntouched()
        #expect(try FileSystem.list(collector) == ["mdev-reconciler.prom.new"])
        // The collector's directory as Debian makes it (root's, below prometheus's) is written.
        try #require(chown(collector, 0, 0) == 0)
        try FileSystem.writeAtomically(Array("metric 1\n".utf8), to: prometheus + "/node-exporter/mdev-reconciler.prom", createDirectory: false)
        #expect(try FileSystem.readText(collector + "/mdev-reconciler.prom") == "metric 1\n")
    }

    @Test("A directory others can write to is refused; a link is followed only where nobody else could have put it")
    func untrustedDirectoriesAndLinks() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let shared = try tree.directory("shared", mode: 0o1777)
        let refused = #expect(throws: SysfsError.self) { try FileSystem.writeAtomically([1], to: shared + "/status.json") }
        #expect(refused?.description.hasSuffix("(this directory others can write to (mode 01777); nothing is written there)") == true)
        // Another user's link in a shared directory, to a directory root trusts: not followed.
        let etc = try tree.directory("etc")
        try tree.link(shared + "/state", to: etc)
        let link = #expect(throws: SysfsError.self) { try FileSystem.writeAtomically([1], to: shared + "/state/layout.json") }
        #expect(link?.description == "open \(shared)/state: \(Errno.permissionDenied) (a link in \(shared), which others can write to (mode 01777); it is not followed)")
        #expect(try FileSystem.list(etc).isEmpty)
        // root's own link, in root's own directory, is followed (/var/run -> /run), relative or absolute.
        let run = try tree.directory("run")
        try tree.link(tree.root + "/var-run", to: "run")
        try tree.link(tree.root + "/absolute-run", to: run)
        try FileSystem.writeAtomically(Array("a".utf8), to: tree.root + "/var-run/mdev/status.json")
        try FileSystem.writeAtomically(Array("b".utf8), to: tree.root + "/absolute-run/mdev/other.json")
        #expect(try FileSystem.list(run + "/mdev") == ["other.json", "status.json"])
    }

    @Test("A missing directory is made unless the caller says it is someone else's to make")
    func missingDirectory() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let missing = #expect(throws: SysfsError.self) {
            try FileSystem.writeAtomically([1], to: tree.root + "/missing/x.prom", createDirectory: false)
        }
        #expect(missing?.errno == .noSuchFileOrDirectory && missing?.path == tree.root + "/missing")
        try FileSystem.writeAtomically([1], to: tree.root + "/a/b/c/x.json")
        #expect(FileSystem.isDirectory(tree.root + "/a/b/c"))
        // A file where a directory should be.
        let file = #expect(throws: SysfsError.self) { try FileSystem.writeAtomically([1], to: tree.root + "/shadow/x.json") }
        #expect(file?.errno == .notDirectory)
    }

    @Test("Reads inside a root: a link out of it is refused (EXDEV) by openat2 and by the fallback that resolves first; links inside are followed")
    func confinedReads() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let sys = try tree.directory("sys")
        try FileSystem.writeAtomically(Array("5\n".utf8), to: sys + "/devices/a/count")
        try tree.link(sys + "/devices/a/secret", to: tree.victim)
        try tree.link(sys + "/devices/a/relative-secret", to: "../../../shadow")
        try tree.link(sys + "/devices/a/up", to: "../../..")
        try tree.link(sys + "/class-a", to: "devices/a")
        let root = ConfinedRoot(sys)
        #expect(try FileSystem.readText(sys + "/class-a/count", inside: root) == "5\n")
        #expect(try root.openResolvedFirst(sys + "/class-a/count", O_RDONLY, operation: .open).close() == ())
        // The link itself, as readLink opens it, in the fallback too.
        let link = try root.openResolvedFirst(sys + "/class-a", FileSystem.pathOnly | O_NOFOLLOW, operation: .readLink)
        var target = [CChar](repeating: 0, count: 64)
        #expect(readlinkat(link.rawValue, "", &target, 63) == 9)
        try link.close()
        for path in ["/devices/a/secret", "/devices/a/relative-secret", "/devices/a/up/shadow"] {
            let error = #expect(throws: SysfsError.self) { try FileSystem.readText(sys + path, inside: root) }
            #expect(error?.errno == .improperLink, "\(path)")
            let fallback = #expect(throws: SysfsError.self) { try root.openResolvedFirst(sys + path, O_RDONLY, operation: .open) }
            #expect(fallback?.errno == .improperLink, "\(path)")
            #expect(!FileSystem.exists(sys + path, inside: root))
        }
        #expect(try FileSystem.list(sys + "/class-a", inside: root) == ["count", "relative-secret", "secret", "up"])
        #expect(throws: SysfsError.self) { try FileSystem.list(sys + "/devices/a/up", inside: root) }
        // A path that does not start at the root is refused before anything is opened.
        #expect(throws: SysfsError.self) { try FileSystem.readText(tree.victim, inside: root) }
    }

    @Test("A file that does not hold a number is quoted by a short excerpt, escaped")
    func shortExcerpt() {
        let error = SysfsValueError(path: "/sys/x/available_instances", text: "root:*:20228:0:99999:7:::\nbin:*:20228:0:99999:7:::\n", expected: "a count")
        #expect(error.description == "/sys/x/available_instances reads 'root:*:20228:0:99999:7::…' (26 more characters), not a count")
    }

    @Test("Reads inside a root through links with '..' go through while renames run elsewhere (openat2 answers EAGAIN then; it is asked again)")
    func confinedReadsBesideRenames() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let sys = try tree.directory("sys")
        try FileSystem.writeAtomically(Array("5\n".utf8), to: sys + "/devices/a/count")
        try FileSystem.writeAtomically(Array("x".utf8), to: tree.root + "/renamed-0")
        try tree.directory("sys/class")
        try tree.link(sys + "/class/a", to: "../devices/a")
        let root = ConfinedRoot(sys)
        // Another thread renames a file back and forth (as the daemon's own atomic writes do), a bounded number
        // of times, until the reads are done.
        let done = LockedValue(false)
        let finished = DispatchSemaphore(value: 0)
        DedicatedThread.start {
            var index = 0
            while !done.withLock({ $0 }) && index < 5_000_000 {
                rename(tree.root + "/renamed-\(index % 2)", tree.root + "/renamed-\((index + 1) % 2)")
                index += 1
            }
            finished.signal()
        }
        var failures: [String] = []
        for _ in 0..<20_000 {
            do { _ = try FileSystem.readText(sys + "/class/a/count", inside: root) } catch { failures.append("\(error)") }
        }
        done.withLock { $0 = true }
        finished.wait()
        #expect(failures.isEmpty, "\(failures.count) failed, the first: \(failures.first ?? "")")
    }
}
