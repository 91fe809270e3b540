import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

/// `plan`, `apply`, `validate` and `rebalance` with the remembered layout and the typo guard, on host trees.
@Suite("Commands and the remembered layout")
struct LayoutCommandTests {
    let docs = "contrib/examples/kubevirt-docs-three-t4.yaml"
    let docsTypes = ["nvidia-222", "nvidia-228", "nvidia-105", "nvidia-108"]

    /// Writes under `root` the three-T4 host as a converged apply leaves it (devices of this host's key), with
    /// the cards in `gone` unplugged since; returns the layout that apply remembered.
    @discardableResult
    func filledThreeT4(at root: String, gone: [String] = []) async throws -> RememberedLayout {
        let host = ExampleHosts.threeT4()
        try ExampleHosts.write(host, to: root)
        let key = HostIdentity.hostKey(machineIDFile: root + "/etc/machine-id", nodeName: "node01").key
        let report = try await Applier(host: host.kernel) { [docsTypes] in
            Planner.plan(PlanningInput(inventory: $0, wanted: WantedTypes(types: docsTypes, source: .global), hostKey: key,
                                       settings: ReconcilerSettings(), nodeName: "node01"))
        }.apply()
        for card in gone { host.kernel.removeParent(named: card) }
        try FileManager.default.removeItem(atPath: root)
        try ExampleHosts.write(host, to: root)
        return try #require(report.layoutToRemember)
    }

    func typoConfig(in directory: String) throws -> String {
        let path = directory + "/typo.yaml"
        try "mediatedDevicesConfiguration:\n  mediatedDeviceTypes:\n    - nvidia-22\n    - GRID_T4-1b\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("apply with a list of only unknown types changes nothing and exits 1 naming them; --allow-removal-of-all removes")
    func applyTypoGuard() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await filledThreeT4(at: directory + "/host")
        let arguments = ["--config", try typoConfig(in: directory), "--host-root", directory + "/host", "--node-name", "node01"]
        let before = try snapshot(directory + "/host")
        let held = try runCLI(["apply"] + arguments)
        #expect(held.status == 1)
        #expect(held.stderr.contains("mdev-reconciler: error: no card on this host has any wanted type (nvidia-22, GRID_T4-1b): a likely typo"))
        #expect(held.stdout.contains("held: no card on this host has any wanted type"))
        #expect(try snapshot(directory + "/host") == before)
        let allowed = try runCLI(["apply", "--allow-removal-of-all"] + arguments)
        let removed = Set(allowed.stderr.split(separator: "\n").filter { $0.hasPrefix("removed ") })
        #expect(removed.count == 34, "\(allowed.stderr)")
    }

    @Test("validate on a host warns for each wanted type no card has, at its line, with the closest real type; off a host, nothing")
    func validateSuggests() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try typoConfig(in: directory)
        let result = try runCLI(["validate", "--config", config, "--host-root", "contrib/example-hosts/three-t4", "--node-name", "node01"])
        #expect(result.status == 0)
        #expect(result.stderr.split(separator: "\n").map(String.init) == [
            "\(config):3:7: warning: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: nvidia-22: no card on this host has it; did you mean nvidia-222 (GRID T4-1B)?",
            "\(config):4:7: warning: mediatedDevicesConfiguration.mediatedDeviceTypes[1]: GRID_T4-1b: no card on this host has it; did you mean GRID_T4-1B (nvidia-222)?",
        ])
        let known = try runCLI(["validate", "--config", docs, "--host-root", "contrib/example-hosts/three-t4", "--node-name", "node01"])
        #expect(known.stderr.contains("nvidia-105: no card on this host has it"))
        #expect(!known.stderr.contains("nvidia-222"))
        let elsewhere = try runCLI(["validate", "--config", config, "--host-root", directory, "--node-name", "node01"])
        #expect(elsewhere.status == 0 && elsewhere.stderr.isEmpty, "\(elsewhere.stderr)")
    }

    @Test("plan reads the record: a card gone leaves its type unserved and says what a rebalance would do; --rebalance and a request plan it")
    func planShowsUnserved() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = directory + "/host"
        let layout = try await filledThreeT4(at: root, gone: ["0000:3c:00.0"])
        try LayoutRecord(stateDirectory: root + "/var/lib/mdev-reconciler").save(layout)
        let arguments = ["--config", docs, "--host-root", root, "--node-name", "node01"]
        let kept = try runCLI(["plan"] + arguments)
        let lines = kept.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("unserved nvidia-228: wanted, no card since 0000:3c:00.0 went away"))
        #expect(lines.contains("rebalance would move 0000:3d:00.0 nvidia-222 → nvidia-228, removing 16 idle devices"))
        #expect(lines.last == "2 parents: 0 devices to create, 0 to remove, 0 blocked")
        let json = try runCLI(["plan", "--format", "json"] + arguments).stdout
        #expect(json.contains("\"goneCards\" : [\n        \"0000:3c:00.0\"\n      ]"))
        let rebalanced = try runCLI(["plan", "--rebalance"] + arguments)
        #expect(rebalanced.stdout.split(separator: "\n").last == "2 parents: 2 devices to create, 16 to remove, 0 blocked")
        // A rebalance request (what `rebalance` leaves for the daemon) is what plan sees too.
        let request = try runCLI(["rebalance", "--host-root", root])
        #expect(request.status == 0)
        #expect(FileManager.default.fileExists(atPath: root + "/var/lib/mdev-reconciler/rebalance-requested"))
        let requested = try runCLI(["plan"] + arguments)
        #expect(requested.stderr.contains("a rebalance is requested"))
        #expect(requested.stdout.split(separator: "\n").last == "2 parents: 2 devices to create, 16 to remove, 0 blocked")
        // plan only looks: the record and the request are as they were.
        #expect(LayoutRecord(stateDirectory: root + "/var/lib/mdev-reconciler").load().layout == layout)
    }

    @Test("A record that cannot be read is said once and means no change known: nothing is removed")
    func unreadableRecord() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = directory + "/host"
        try await filledThreeT4(at: root, gone: ["0000:3c:00.0"])
        try FileSystem.writeAtomically(Array("{\"version\": 1, \"cards\": 3}".utf8), to: root + "/var/lib/mdev-reconciler/layout.json")
        let result = try runCLI(["plan", "--config", docs, "--host-root", root, "--node-name", "node01"])
        #expect(result.stderr.contains("warning: the layout record \(root)/var/lib/mdev-reconciler/layout.json lacks 'wantedDigest'"))
        #expect(result.stderr.contains("no change known"))
        #expect(result.stdout.split(separator: "\n").last == "2 parents: 0 devices to create, 0 to remove, 0 blocked")
    }
}
