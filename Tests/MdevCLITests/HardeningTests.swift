import Foundation
import MdevDaemon
import MdevModel
import MdevSysfs
import MdevTestSupport
import SystemPackage
import Testing

/// What a local user or a careless file can make the commands do: each test is a reproduction that once
/// trapped, filled memory, printed raw escape sequences, read outside the host root or blocked.
@Suite("Hardened commands", .timeLimit(.minutes(1)))
struct HardeningTests {
    static let mtty = "contrib/examples/mtty.yaml"

    func status(parents: [String]) -> DaemonStatus {
        DaemonStatus(
            pid: 1, updated: Date(timeIntervalSince1970: 1_796_000_000), node: "node01", configFile: "c", configGeneration: 1,
            configError: nil, wanted: WantedTypes(types: ["mtty-1"], source: .global), passes: 1,
            parents: parents.map {
                DaemonStatus.ParentStatus(parent: $0, model: "mtty", type: "mtty-1", devices: [], blocked: [], lastError: nil, stuck: false, toCreate: 0, toRemove: 0)
            })
    }

    @Test("status: a status file that lists a parent twice is a one-line error (it trapped)")
    func statusWithADuplicateParent() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try JSONFile.write(status(parents: ["mtty", "mtty"]), to: directory + "/status.json")
        let result = try runCLI(["status", "--host-root", "contrib/example-hosts/mtty", "--status-file", directory + "/status.json"])
        #expect(result.status == 1)
        #expect(result.stderr == "mdev-reconciler: error: daemon status \(directory)/status.json lists parent 'mtty' twice\n")
    }

    @Test("status --format json: the time as the status file has it, ISO 8601 (it printed seconds since 2001)")
    func statusTimes() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try JSONFile.write(status(parents: ["mtty"]), to: directory + "/status.json")
        let file = try String(contentsOfFile: directory + "/status.json", encoding: .utf8)
        #expect(file.contains(#""updated" : "2026-11-30T00:53:20Z""#))
        let result = try runCLI(["status", "--format", "json", "--host-root", "contrib/example-hosts/mtty", "--status-file", directory + "/status.json"])
        #expect(result.stdout.contains(#""updated" : "2026-11-30T00:53:20Z""#), "\(result.stdout)")
    }

    @Test("A layout record larger than 1 MiB is refused before it is read whole: it counts as lost, said once")
    func oversizeRecord() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try copyExampleHost("mtty", to: directory + "/host")
        let record = directory + "/host/var/lib/mdev-reconciler/layout.json"
        try FileSystem.writeAtomically(Array(repeating: UInt8(ascii: " "), count: JSONFile.recordLimit + 1), to: record)
        let result = try runCLI(["plan", "--config", Self.mtty, "--host-root", directory + "/host", "--node-name", "node01"])
        #expect(result.status == 0)
        let warnings = result.stderr.split(separator: "\n").map(String.init).filter { $0.contains("layout.json") }
        #expect(warnings == [
            "mdev-reconciler: warning: the layout record \(record) is larger than 1024 KiB, the most a record of this program may be; "
                + LayoutRecordText.noChangeKnown,
        ])
    }
}

extension HardeningTests {
    @Test("Text from /proc and sysfs is printed escaped: a VM's comm with escape sequences, a type name with a line break",
          arguments: [["devices"], ["devices", "--format", "libvirt"], ["devices", "--format", "kubevirt"], ["types"],
                      ["plan", "--config", "contrib/examples/kubevirt-cr.yaml", "--node-name", "node01"]])
    func escapedOutsideText(command: [String]) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = directory + "/host"
        try copyExampleHost("t4-in-use", to: host)
        // Any process can set its own comm (prctl(PR_SET_NAME)); a driver's name file is text too.
        try FileSystem.writeAtomically(Array("q\u{1B}]0;owned\u{07}\u{1B}[2J\n".utf8), to: host + "/proc/4242/comm")
        let types = host + "/sys/devices/pci0000:00/0000:3b:00.0/mdev_supported_types"
        try FileSystem.writeAtomically(Array("GRID T4-1B\nFORGED LINE\n".utf8), to: types + "/nvidia-222/name")
        let result = try runCLI(command + ["--host-root", host])
        #expect(result.status == 0, "\(result.stderr)")
        let output = result.stdout + result.stderr
        #expect(!output.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" }, "\(output)")
        #expect(!output.split(separator: "\n").contains { $0.hasPrefix("FORGED") }, "\(output)")
        if command.first == "devices" && command.last != "kubevirt" { #expect(output.contains(#"q\u{1B}]0;owned\u{7}\u{1B}[2J"#), "\(output)") }
        if command == ["types"] { #expect(output.contains(#"GRID T4-1B\nFORGED LINE"#), "\(output)") }
    }
}

extension HardeningTests {
    @Test("Reads stay inside the host root: a file or type linked out of it is neither read nor quoted",
          arguments: [["plan", "--config", "contrib/examples/kubevirt-cr.yaml", "--node-name", "node01"], ["types"], ["devices"]])
    func linksOutOfTheRoot(command: [String]) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = directory + "/host"
        try copyExampleHost("t4-in-use", to: host)
        // /etc/shadow's stand-in, beside the host root, and a type directory of its own there.
        let secret = directory + "/shadow"
        try FileSystem.writeAtomically(Array("root:*:20228:0:99999:7:::\n".utf8), to: secret)
        try FileSystem.writeAtomically(Array("SECRET TYPE\n".utf8), to: directory + "/outside-type/name")
        try FileSystem.writeAtomically(Array("7\n".utf8), to: directory + "/outside-type/available_instances")
        let types = host + "/sys/devices/pci0000:00/0000:3b:00.0/mdev_supported_types"
        for file in ["available_instances", "name"] {
            try FileManager.default.removeItem(atPath: types + "/nvidia-222/" + file)
            try FileManager.default.createSymbolicLink(atPath: types + "/nvidia-222/" + file, withDestinationPath: secret)
        }
        try FileManager.default.removeItem(atPath: types + "/nvidia-223")
        try FileManager.default.createSymbolicLink(atPath: types + "/nvidia-223", withDestinationPath: directory + "/outside-type")
        let result = try runCLI(command + ["--host-root", host])
        let output = result.stdout + result.stderr
        #expect(!output.contains("root:*") && !output.contains("SECRET"), "\(output)")
        if command.first == "plan" {
            #expect(result.stderr.contains(
                "type nvidia-222: open \(types)/nvidia-222/available_instances: \(Errno.improperLink) (a link leads out of the sysfs root; nothing is read or written there)"),
                "\(result.stderr)")
        }
    }
}

extension HardeningTests {
    @Test("apply refuses to write to a FIFO planted at create (it blocked forever): exit 2, naming the parent")
    func fifoAtCreate() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = directory + "/host"
        try copyExampleHost("three-t4", to: host)
        let create = host + "/sys/devices/pci0000:00/0000:3c:00.0/mdev_supported_types/nvidia-228/create"
        try FileManager.default.removeItem(atPath: create)
        try #require(mkfifo(create, 0o600) == 0)
        let result = try runCLI([
            "apply", "--config", "contrib/examples/kubevirt-docs-three-t4.yaml", "--host-root", host, "--node-name", "node01",
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("0000:3c:00.0: create"), "\(result.stderr)")
        #expect(result.stderr.contains(": \(Errno.noSuchAddressOrDevice)") || result.stderr.contains("not a regular file"), "\(result.stderr)")
    }

    @Test("apply --write-timeout takes what run takes", arguments: [("0", "0"), ("86401", "86401"), ("9223372036854775806", "9223372036854775806")])
    func applyWriteTimeout(value: String, shown: String) throws {
        let result = try runCLI(["apply", "--config", Self.mtty, "--host-root", "contrib/example-hosts/mtty", "--write-timeout", value])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Error: --write-timeout must be from 1 to 86400, not \(shown)"), "\(result.stderr)")
    }
}

extension HardeningTests {
    @Test("devices --type with a type no parent offers says so, with the closest type (it printed '0 devices' alone)")
    func devicesOfAnUnknownType() throws {
        let result = try runCLI(["devices", "--host-root", "contrib/example-hosts/t4-in-use", "--node-name", "node01", "--type", "nvidia-22"])
        #expect(result.status == 0)
        #expect(result.stderr == "mdev-reconciler: warning: --type nvidia-22: no card on this host has it; did you mean nvidia-222 (GRID T4-1B)?\n")
        #expect(result.stdout.hasSuffix("0 devices, 0 free\n"), "\(result.stdout)")
        let known = try runCLI(["devices", "--host-root", "contrib/example-hosts/t4-in-use", "--node-name", "node01", "--type", "GRID_T4-8A"])
        #expect(known.stderr.isEmpty && known.stdout.hasSuffix("1 device, 0 free\n"), "\(known.stdout)")
    }
}

/// The words the layout record's warnings end with.
enum LayoutRecordText {
    static let noChangeKnown = "no change known, so cards that hold devices of ours keep their type and nothing is removed because of it"
}
