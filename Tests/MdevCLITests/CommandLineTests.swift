import Foundation
import MdevCLI
import MdevModel
import MdevTestSupport
import MdevSysfs
import Testing

/// The `mdev-reconciler` binary, run as a user would, on the example hosts under `contrib/`.
@Suite("The mdev-reconciler command line")
struct CommandLineTests {
    let threeT4 = ["--host-root", "contrib/example-hosts/three-t4", "--node-name", "node01"]

    struct PlanJSON: Decodable {
        struct Device: Decodable { var uuid: String; var type: String }
        struct ParentEntry: Decodable {
            var parent: String
            var type: String?
            var create: [Device]
            var remove: [Device]
            var reason: String?
        }
        var node: String
        var parents: [ParentEntry]

        /// `parent: type ×created` for each parent.
        var layout: [String] { parents.map { "\($0.parent): \($0.type ?? "-") ×\($0.create.count)" } }
    }

    func planJSON(_ arguments: [String]) throws -> PlanJSON {
        let result = try runCLI(["plan", "--format", "json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(PlanJSON.self, from: Data(result.stdout.utf8))
    }

    @Test("plan --format json on the docs' three-T4 host gives 16 × 222, 2 × 228, 16 × 222 with derived UUIDs")
    func planThreeT4() throws {
        let plan = try planJSON(["--config", "contrib/examples/kubevirt-docs-three-t4.yaml"] + threeT4)
        #expect(plan.node == "node01")
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"])
        #expect(plan.parents.allSatisfy { $0.remove.isEmpty && $0.reason == nil })
        let key = HostKey(machineID: UUID(uuidString: "4a5f0c2e-9b1d-47e8-a3c6-f0b2d4e6a8c1")!)
        #expect(plan.parents[1].create.map(\.uuid) == (0..<2).map { key.deviceUUID(parent: "0000:3c:00.0", type: "nvidia-228", slot: $0).sysfsString })
    }

    @Test("plan --format json on KubeVirt's test layout puts each type on exactly one card")
    func planTestLayout() throws {
        let plan = try planJSON(["--config", "contrib/examples/kubevirt-test-layout.yaml",
                                 "--host-root", "contrib/example-hosts/t4-gvtg", "--node-name", "node01"])
        #expect(plan.layout == ["0000:00:02.0: i915-GVTg_V5_4 ×4", "0000:3b:00.0: nvidia-223 ×8",
                                "0000:3c:00.0: nvidia-224 ×8", "0000:3d:00.0: nvidia-229 ×1"])
    }

    @Test("A whole CR with a labels file: the matching override applies, blocked parents carry a reason")
    func planCRWithLabels() throws {
        let plan = try planJSON(["--config", "contrib/examples/kubevirt-cr.yaml", "--labels", "contrib/examples/labels",
                                 "--host-root", "contrib/example-hosts/t4-in-use", "--node-name", "node01"])
        #expect(plan.parents.map(\.type) == ["nvidia-234", "nvidia-234"])
        #expect(plan.parents[0].reason == "device 9d1e4a35-7c2b-4f60-8e91-3a5b7c9d0e12 (nvidia-228) is in use by pid 4242 (qemu-system-x86)")
        #expect(plan.parents[1].reason?.contains("was not created by mdev-reconciler") == true)
        #expect(plan.parents.allSatisfy { $0.remove.isEmpty })
    }

    @Test("An SR-IOV GPU in mdev mode: one type for the GPU, filled to max_instance, one row per GPU in text")
    func sriovMdevMode() throws {
        let arguments = ["--config", "contrib/examples/nvidia-a16-mdev-mode.yaml", "--host-root", "contrib/example-hosts/a16-mdev-mode",
                         "--node-name", "node01"]
        let plan = try planJSON(arguments)
        #expect(plan.parents.count == 16)
        #expect(plan.parents.filter { !$0.create.isEmpty }.map(\.parent) == ["0000:81:00.4", "0000:81:00.5"])
        #expect(plan.parents.allSatisfy { $0.type == "nvidia-693" })
        let text = try runCLI(["plan"] + arguments)
        #expect(text.stdout.split(separator: "\n").contains("0000:81:00.0 (16 VFs)  NVIDIA A16  -        nvidia-693 ×2  +2"))
        let types = try runCLI(["types", "--host-root", "contrib/example-hosts/a16-mdev-mode"])
        let lines = types.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "0000:81:00.0: SR-IOV GPU, 16 virtual functions (mdev mode)  NVIDIA A16  driver nvidia  10de:25b6")
        // A16-16Q: sixteen functions could take one, but the GPU holds one such device.
        #expect(lines.contains { $0.hasPrefix("  nvidia-694  NVIDIA A16-16Q  1 ") })
        #expect(lines.contains { $0.hasPrefix("  nvidia-690  NVIDIA A16-1Q   16 ") })
    }

    @Test("Two L40S GPUs in vendor-specific mode: the ring gives each a type, filled as far as the framebuffer allows")
    func vendorModePlan() throws {
        let arguments = ["--config", "contrib/examples/nvidia-l40s-vendor-mode.yaml", "--host-root", "contrib/example-hosts/l40s-vendor-mode",
                         "--node-name", "node01"]
        let plan = try planJSON(arguments)
        #expect(plan.parents.count == 64)
        #expect(plan.parents.filter { $0.parent.hasPrefix("0000:3d") }.reduce(0) { $0 + $1.create.count } == 12)
        #expect(plan.parents.filter { !$0.create.isEmpty && $0.parent.hasPrefix("0000:4e") }.map(\.parent) == ["0000:4e:00.4"])
        let json = try runCLI(["plan", "--format", "json"] + arguments)
        #expect(json.stdout.contains("\"interface\" : \"nvidia-vendor-specific\""))
        let text = try runCLI(["plan"] + arguments).stdout.split(separator: "\n").map(String.init)
        #expect(text.contains("0000:3d:00.0 (32 VFs)  NVIDIA L40S  -        nvidia-1150 ×12  +12"))
        #expect(text.contains("0000:4e:00.0 (32 VFs)  NVIDIA L40S  -        nvidia-1156 ×1   +1"))
        let types = try runCLI(["types", "--host-root", "contrib/example-hosts/l40s-vendor-mode"]).stdout.split(separator: "\n").map(String.init)
        #expect(types.first == "0000:3d:00.0: SR-IOV GPU, 32 virtual functions (vendor-specific mode)  NVIDIA L40S  driver nvidia  10de:26b9")
        #expect(types.contains { $0.hasPrefix("  nvidia-1150  NVIDIA L40S-4Q   12 ") && $0.hasSuffix("at most 12 per GPU (from the framebuffer)") })
    }

    @Test("apply in vendor-specific mode writes type numbers to the planned functions and records them in the state directory")
    func vendorModeApply() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try copyExampleHost("l40s-vendor-mode", to: directory + "/host")
        let arguments = ["--config", "contrib/examples/nvidia-l40s-vendor-mode.yaml", "--host-root", directory + "/host", "--node-name", "n"]
        let result = try runCLI(["apply"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("configured 0000:3d:") && $0.hasSuffix(" as nvidia-1150") }.count == 12)
        #expect(lines.contains("configured 0000:4e:00.4 as nvidia-1156"))
        let current = try FileSystem.readText(directory + "/host/sys/devices/pci0000:00/0000:4e:00.4/nvidia/current_vgpu_type")
        #expect(current.hasPrefix("1156"))
        let record = try FileSystem.readText(directory + "/host/var/lib/mdev-reconciler/nvidia-vgpu.json")
        #expect(record.contains("\"0000:4e:00.4\""))
        // The layout it converged to is remembered, per GPU, by the references the config uses.
        let layout = LayoutRecord(stateDirectory: directory + "/host/var/lib/mdev-reconciler").load().layout
        #expect(layout?.cards == ["0000:3d:00.0": "NVIDIA_L40S-4Q", "0000:4e:00.0": "nvidia-1156"])
        // Applied again: the vGPUs are recognised from the record, nothing is written.
        let again = try runCLI(["apply"] + arguments)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!again.stderr.contains("configured"))
        let types = try runCLI(["types", "--host-root", directory + "/host"]).stdout
        #expect(types.contains("    vGPU  nvidia-1156 on 0000:4e:00.4  free"))
    }

    @Test("plan text is a table with current → target and the changes")
    func planText() throws {
        let result = try runCLI(["plan", "--config", "contrib/examples/kubevirt-docs-three-t4.yaml"] + threeT4)
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("0000:3c:00.0  GRID T4  -        nvidia-228 ×2   +2"))
        #expect(lines.last == "3 parents: 34 devices to create, 0 to remove, 0 blocked")
    }

    @Test("types lists types, availability, parsed descriptions and devices with their holders")
    func types() throws {
        let result = try runCLI(["types", "--format", "json", "--host-root", "contrib/example-hosts/t4-in-use"])
        #expect(result.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let parents = try #require(json["parents"] as? [[String: Any]])
        #expect(parents.count == 2)
        let types = try #require(parents[0]["types"] as? [[String: Any]])
        let t4 = try #require(types.first { $0["id"] as? String == "nvidia-222" })
        #expect(t4["availableInstances"] as? Int == 0)
        #expect(t4["maxInstances"] as? Int == 16)
        #expect((t4["descriptionFields"] as? [String: String])?["framebuffer"] == "1024M")
        let devices = try #require(parents[0]["devices"] as? [[String: Any]])
        #expect(devices.first?["inUse"] as? Bool == true)
        let text = try runCLI(["types", "--host-root", "contrib/example-hosts/t4-in-use"])
        #expect(text.stdout.contains("9d1e4a35-7c2b-4f60-8e91-3a5b7c9d0e12  nvidia-228  in use by pid 4242 (qemu-system-x86)"))
    }

    @Test("validate: a good file says so; a bad one is one line naming file:line:column and field, exit 1")
    func validate() throws {
        let good = try runCLI(["validate", "--config", "contrib/examples/kubevirt-cr.yaml", "--node-name", "n1",
                               "--labels", "contrib/examples/labels"])
        #expect(good.status == 0)
        #expect(good.stdout.contains("wants GRID_T4-16Q (nodeMediatedDeviceTypes entries 0)"))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bad = directory + "/bad.yaml"
        try "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: nvidia-222\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try runCLI(["validate", "--config", bad])
        #expect(result.status == 1)
        #expect(result.stderr == "mdev-reconciler: error: \(bad):2:24: mediatedDevicesConfiguration.mediatedDeviceTypes: expected a list, found 'nvidia-222'\n")
        #expect(result.stdout.isEmpty)
    }

    @Test("Bad or missing inputs are one clear line and exit 1, never a crash", arguments: [
        (["plan", "--config", "contrib/examples/nope.yaml"], "mdev-reconciler: error: config file contrib/examples/nope.yaml does not exist\n"),
        (["plan", "--config", "contrib/examples/mtty.yaml", "--labels", "contrib/examples/nope"],
         "mdev-reconciler: error: labels file contrib/examples/nope does not exist\n"),
        (["plan", "--config", "contrib/examples/mtty.yaml", "--sysfs-root", "/nonexistent", "--node-name", "n"],
         "mdev-reconciler: error: list /nonexistent: No such file or directory\n"),
        (["plan", "--config", "contrib/examples/labels"],
         "mdev-reconciler: error: contrib/examples/labels:3:1: this is not a config file: expected a mapping with 'mediatedDevicesConfiguration' or a KubeVirt CR, found a line of text\n"),
    ])
    func badInputs(arguments: [String], message: String) throws {
        try badInput(arguments, message: message)
    }

    @Test("A config that is a FIFO, a directory, too large or not UTF-8 is refused with the reason and the position; nothing blocks")
    func badConfigFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(mkfifo(directory + "/fifo.yaml", 0o644) == 0)
        try badInput(["plan", "--config", directory + "/fifo.yaml"],
                     message: "mdev-reconciler: error: config file \(directory)/fifo.yaml cannot be read: Illegal seek (not a regular file: a FIFO, socket or device is never read)\n")
        try badInput(["plan", "--config", directory],
                     message: "mdev-reconciler: error: config file \(directory) cannot be read: Is a directory (a directory, not a file)\n")
        try String(repeating: "# padding\n", count: 110_000).write(toFile: directory + "/big.yaml", atomically: false, encoding: .utf8)
        try badInput(["plan", "--config", directory + "/big.yaml"],
                     message: "mdev-reconciler: error: config file \(directory)/big.yaml is larger than 1024 KiB, the most a config file may be\n")
        var latin1 = Array("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [ab".utf8)
        latin1 += [0xE9, 0x5D, 0x0A]
        try Data(latin1).write(to: URL(fileURLWithPath: directory + "/latin1.yaml"))
        try badInput(["plan", "--config", directory + "/latin1.yaml"],
                     message: "mdev-reconciler: error: \(directory)/latin1.yaml:2:27: the config file is not UTF-8 text (byte 57 is not)\n")
        // A file that is no config: its content is not echoed.
        try "root:$y$j9T$secret:19000:0:99999:7:::\n".write(toFile: directory + "/shadow", atomically: false, encoding: .utf8)
        try badInput(["validate", "--config", directory + "/shadow"],
                     message: "mdev-reconciler: error: \(directory)/shadow:1:1: this is not a config file: expected 'mediatedDevicesConfiguration', 'mdevReconciler' or a KubeVirt CR at the top level\n")
    }

    @Test("An empty or control-character --node-name is a usage error (exit 64), escaped in the message")
    func badNodeNames() throws {
        for (name, message) in [("", "the node name is empty"),
                                ("a\u{1B}b", "the node name 'a\\u{1B}b' is not a DNS subdomain (lower-case letters, digits, '-', '.')")] {
            let result = try runCLI(["plan", "--config", "contrib/examples/mtty.yaml", "--host-root", "contrib/example-hosts/mtty", "--node-name", name])
            #expect(result.status == 64)
            #expect(result.stderr.hasPrefix("Error: --node-name: \(message)\n"), "\(result.stderr)")
        }
    }

    @Test("A FIFO as a sysfs attribute blocks none of types, plan and apply: that parent is left as it is, with the path")
    func fifoInSysfs() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try copyExampleHost("three-t4", to: directory + "/host")
        let file = directory + "/host/sys/devices/pci0000:00/0000:3c:00.0/mdev_supported_types/nvidia-222/available_instances"
        try FileManager.default.removeItem(atPath: file)
        #expect(mkfifo(file, 0o644) == 0)
        let config = "contrib/examples/kubevirt-docs-three-t4.yaml"
        let warning = "parent 0000:3c:00.0 is left as it is: type nvidia-222: read \(file): Illegal seek (not a regular file: a FIFO, socket or device is never read)"
        for command in [["types"], ["plan", "--config", config, "--node-name", "n"], ["apply", "--config", config, "--node-name", "n"]] {
            let result = try runCLI(command + ["--host-root", directory + "/host"])
            #expect(result.stderr.contains(warning), "\(command[0]): \(result.stderr)")
        }
        // apply filled the two other cards, and nothing on the one it could not read.
        let devices = try FileManager.default.contentsOfDirectory(atPath: directory + "/host/sys/devices/pci0000:00/0000:3c:00.0")
        #expect(!devices.contains { UUID(uuidString: $0) != nil })
    }

    private func badInput(_ arguments: [String], message: String) throws {
        let result = try runCLI(arguments + ["--host-root", "contrib/example-hosts/mtty"])
        #expect(result.status == 1)
        #expect(result.stderr == message)
    }

    @Test("The deprecated spelling works with a warning on stderr")
    func deprecationWarning() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/old.yaml"
        try "mediatedDevicesConfiguration:\n  mediatedDevicesTypes: [mtty-1]\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try runCLI(["plan", "--format", "json", "--config", file, "--host-root", "contrib/example-hosts/mtty", "--node-name", "n"])
        #expect(result.status == 0)
        #expect(result.stderr == "\(file):2:3: warning: mediatedDevicesConfiguration.mediatedDevicesTypes: 'mediatedDevicesTypes' is deprecated; rename it to 'mediatedDeviceTypes'\n")
        #expect(try JSONDecoder().decode(PlanJSON.self, from: Data(result.stdout.utf8)).layout == ["mtty: mtty-1 ×24"])
    }

    @Test("apply on a host that does not react (a plain tree) ends with exit 2 and a per-parent summary")
    func applyNotConverged() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try copyExampleHost("mtty", to: directory + "/host")
        let result = try runCLI(["apply", "--config", "contrib/examples/mtty.yaml", "--host-root", directory + "/host", "--node-name", "n"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("mdev-reconciler: the host does not match the plan:\n  mtty: still 12 to create, 0 to remove"))
        // The create file of the discovered type received a UUID: the write went to the discovered path.
        let written = try FileSystem.readText(directory + "/host/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/create")
        #expect(UUID(uuidString: written) != nil)
    }

    @Test("--help works for every command and shows examples of it", arguments: [
        [], ["plan"], ["apply"], ["types"], ["validate"], ["status"], ["run"], ["rebalance"], ["devices"], ["nvml"], ["kube-agent"],
    ])
    func help(command: [String]) throws {
        let result = try runCLI(command + ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: mdev-reconciler"))
        // The prose is whole lines (a literal backslash was printed where a line was continued).
        #expect(!(result.stdout.components(separatedBy: "Examples:\n").first ?? "").contains("\\"), "\(result.stdout)")
        let examples = result.stdout.components(separatedBy: "Examples:\n").dropFirst().first ?? ""
        let example = command.first.map { $0 == "run" ? "mdev-reconciler run " : "mdev-reconciler \($0)" } ?? "mdev-reconciler "
        #expect(examples.contains("  " + example), "\(result.stdout)")
    }

    @Test("Usage mistakes are errors that say what to type", arguments: [
        (["help", "bogus"], "mdev-reconciler: error: no help for unknown command 'bogus' (commands: plan, apply, types, validate, status, run, rebalance, devices, nvml, kube-agent)"),
        (["pln"], "mdev-reconciler: error: unknown command 'pln'; did you mean 'plan'?"),
        (["aply", "--config", "x"], "mdev-reconciler: error: unknown command 'aply'; did you mean 'apply'?"),
        (["help", "stauts"], "did you mean 'status'?"),
        (["run", "--debounce", "-5"], "Error: --debounce must be from 1 to 3600000, not -5"),
        (["run", "--max-delay", "-1"], "Error: --max-delay must be from 1 to 3600000, not -1"),
        // Values that trapped at the first write or wait (a deadline past what a clock can count).
        (["run", "--write-timeout", "9223372036854775806"], "Error: --write-timeout must be from 1 to 86400, not 9223372036854775806"),
        (["run", "--sriov-manage-timeout", "86401"], "Error: --sriov-manage-timeout must be from 1 to 86400, not 86401"),
        (["run", "--debounce", "3600001", "--max-delay", "3600002"], "Error: --debounce must be from 1 to 3600000, not 3600001"),
        (["run", "--debounce", "99999999999999999999"], "Error: The value '99999999999999999999' is invalid for '--debounce <MS>'"),
        (["run", "--config", "-"], "Error: --config - (standard input) is for plan, apply and validate"),
        // Options a command would ignore are not taken.
        (["types", "--labels", "x"], "Error: Unknown option '--labels'"),
        (["types", "--node-name", "n"], "Error: Unknown option '--node-name'"),
        (["status", "--machine-id-file", "x"], "Error: Unknown option '--machine-id-file'"),
        (["devices", "--labels", "x"], "Error: Unknown option '--labels'"),
        (["devices", "--status-file", "x"], "Error: Unknown option '--status-file'"),
        (["plan", "--status-file", "x"], "Error: Unknown option '--status-file'"),
        // Nothing is read from, or made under, a host root that is not there.
        (["rebalance", "--host-root", "/nonexistent"], "Error: --host-root '/nonexistent' is not a directory"),
    ])
    func usageMistakes(arguments: [String], message: String) throws {
        let result = try runCLI(arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("--config - reads the config from standard input; its errors name <stdin>")
    func configFromStandardInput() throws {
        let good = try runCLI(["validate", "--config", "-"] + threeT4, input: "contrib/examples/kubevirt-docs-three-t4.yaml")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.hasPrefix("<stdin>: valid\nnode node01: wants"), "\(good.stdout)")
        let plan = try runCLI(["plan", "--config", "-", "--format", "json"] + threeT4, input: "contrib/examples/kubevirt-docs-three-t4.yaml")
        #expect(try JSONDecoder().decode(PlanJSON.self, from: Data(plan.stdout.utf8)).layout.count == 3)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "mediatedDevicesConfiguration:\n  mediatedDeviceType: [a]\n".write(toFile: directory + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try runCLI(["validate", "--config", "-"] + threeT4, input: directory + "/bad.yaml")
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("mdev-reconciler: error: <stdin>:2:3: mediatedDevicesConfiguration.mediatedDeviceType: unknown key"), "\(bad.stderr)")
    }

    @Test("--version prints the version the package carries")
    func version() throws {
        let result = try runCLI(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == MdevReconcilerCommand.version + "\n")
    }
}

/// Copies an example host's tree (links as links) to `path`, for commands that write to it.
func copyExampleHost(_ name: String, to path: String) throws {
    let copy = try ChildProcess("/bin/cp", ["-a", repositoryRoot + "/contrib/example-hosts/" + name, path], environment: [:])
    guard copy.waitUntilExit() == .exited(0) else { throw CLITestError("cp -a of example host \(name) failed") }
}

func temporaryDirectory() throws -> String {
    let path = temporaryPath("mdev-cli-" + UUID().uuidString)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
