import Foundation
import MdevTestSupport
import SystemPackage
import Testing

@testable import MdevSysfs

/// The one file system layer.
@Suite("File system layer")
struct FileSystemTests {
    @Test("An atomic write creates the directories, replaces the file whole and leaves no temporary file")
    func atomicWrite() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let path = tree.root + "/run/mdev-reconciler/status.json"
        try FileSystem.writeAtomically(Array("first".utf8), to: path)
        try FileSystem.writeAtomically(Array("second".utf8), to: path)
        #expect(try FileSystem.readText(path) == "second")
        #expect(try FileSystem.list(tree.root + "/run/mdev-reconciler") == ["status.json"])
        #expect(FileSystem.isDirectory(tree.root + "/run") && !FileSystem.isSymbolicLink(path) && FileSystem.exists(path))
    }

    @Test("Errors carry the operation, the path and the errno")
    func errors() throws {
        let missing = #expect(throws: SysfsError.self) { try FileSystem.readBytes("/nonexistent/file") }
        #expect(missing?.errno == .noSuchFileOrDirectory && missing?.operation == .open)
        let blocked = #expect(throws: SysfsError.self) { try FileSystem.writeAtomically([1], to: "/proc/version/x") }
        #expect(blocked?.operation == .createDirectory || blocked?.operation == .open)
        #expect(!FileSystem.exists("/nonexistent/file"))
    }
}
