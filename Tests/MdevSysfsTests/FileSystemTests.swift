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

    @Test("Files read to their end: a long file on disk, and a procfs file whose reads return less than asked before its end")
    func readsToTheEnd() throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let long = (0..<3000).map { "line \($0)\n" }.joined()
        try FileSystem.writeAtomically(Array(long.utf8), to: tree.root + "/long")
        #expect(try FileSystem.readText(tree.root + "/long") == long)
        // /proc/self/maps is a seq_file: each read gives whole lines, fewer bytes than asked for, until its end.
        // This process maps its executable, libraries and its stack, which the kernel lists last.
        let maps = try FileSystem.readText("/proc/self/maps")
        #expect(maps.utf8.count > 8192, "this test needs a maps file longer than two reads")
        // Every line is whole, and the last is one of the kernel's own mappings, listed after everything else.
        #expect(maps.hasSuffix("\n"))
        let last = maps.split(separator: "\n").last.map(String.init) ?? ""
        #expect(["[stack]", "[vvar]", "[vdso]", "[vsyscall]"].contains { last.hasSuffix($0) }, "the last line: \(last)")
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
