import Foundation
import MdevTestSupport
import Testing

@Suite("The example hosts under contrib/")
struct ExampleHostTests {
    /// `MDEV_UPDATE_EXAMPLES=1 swift test --filter ExampleHostTests` rewrites the committed trees.
    @Test("Each committed tree is exactly what ExampleHosts describes", arguments: ExampleHosts.all.map(\.name))
    func committedTreesAreCurrent(name: String) throws {
        let host = try #require(ExampleHosts.all.first { $0.name == name })
        let committed = repositoryRoot + "/contrib/example-hosts/" + name
        if ProcessInfo.processInfo.environment["MDEV_UPDATE_EXAMPLES"] == "1" {
            try? FileManager.default.removeItem(atPath: committed)
            try ExampleHosts.write(host, to: committed)
        }
        let expected = try SysfsTreeBuilder.temporary()
        defer { expected.removeAll() }
        try ExampleHosts.write(host, to: expected.root)
        let want = try snapshot(expected.root)
        let have = try snapshot(committed)
        #expect(Set(have.keys).symmetricDifference(want.keys).sorted() == [])
        for (path, content) in want where have[path] != content {
            Issue.record("\(name)/\(path): committed \(have[path] ?? "nothing"), expected \(content)")
        }
    }
}
