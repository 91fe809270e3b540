// mdev-reconciler-bench: measures what the daemon does on every pass, on hosts much larger than real ones,
// and reports each figure next to its goal. Run it in release: `swift run -c release mdev-reconciler-bench`.
// It is a measurement, not a test: nothing here fails a build; `--check` exits 1 when a goal is missed.
#if canImport(Glibc)
    import Glibc
#endif
import FoundationEssentials
import MdevModel
import MdevSysfs
import MdevTestSupport

/// One figure: the median of `runs` timings of `body`, in milliseconds.
func median(runs: Int, _ body: () async throws -> Void) async rethrows -> Double {
    var timings: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        timings.append(elapsed.inSeconds * 1000)
    }
    return timings.sorted()[timings.count / 2]
}

struct Figure {
    var name: String
    var value: Double
    var unit: String
    var goal: Double

    var met: Bool { value <= goal }
    var line: String {
        name.padding(toLength: 58, withPad: " ", startingAt: 0) + String(format: "%9.3f ", value) + unit
            + "  (goal ≤ \(goal.formatted()) \(unit))" + (met ? "" : "  OVER GOAL")
    }
}

func plan(_ inventory: Inventory, _ types: [String]) -> Plan {
    Planner.plan(PlanningInput(
        inventory: inventory, wanted: WantedTypes(types: types, source: .global), hostKey: HostKey(nodeName: "bench"),
        settings: ReconcilerSettings(), nodeName: "bench"))
}

func address(_ index: Int) -> String { String(format: "0000:%02x:00.0", 0x10 + index) }

var figures: [Figure] = []

// Planning, which every pass does for the whole host.
let t4s = try SimulatedKernel(parents: (0..<64).map { HardwareProfiles.t4(address($0)) }).readInventory().inventory
figures.append(Figure(
    name: "plan: 64 T4 cards, 4 wanted types", value: await median(runs: 50) { _ = plan(t4s, ["nvidia-222", "nvidia-228", "nvidia-230", "nvidia-229"]) },
    unit: "ms", goal: 20))
let a16s = try SimulatedKernel(parents: (0..<16).flatMap { HardwareProfiles.a16(address($0)) }).readInventory().inventory
figures.append(Figure(
    name: "plan: 16 A16 GPUs in mdev mode (256 virtual functions)", value: await median(runs: 50) { _ = plan(a16s, ["nvidia-693", "nvidia-690"]) },
    unit: "ms", goal: 20))
let l40s = try VendorVGPUBackend(
    files: SimulatedVendorGPUs(gpus: (0..<8).map { VendorProfiles.l40s(address($0)) }), record: VendorVGPURecord(path: nil)
).readInventory().inventory
figures.append(Figure(
    name: "plan: 8 L40S GPUs in vendor mode (256 virtual functions)", value: await median(runs: 50) { _ = plan(l40s, ["nvidia-1150", "nvidia-1156"]) },
    unit: "ms", goal: 20))

// Reading sysfs: a real tree with 16 T4 cards of 16 devices each and 4 L40S GPUs in vendor mode.
let tree = try SysfsTreeBuilder.temporary()
defer { tree.removeAll() }
let kernel = SimulatedKernel(parents: (0..<16).map { HardwareProfiles.t4(address($0)) })
_ = try await Applier(host: kernel) { plan($0, ["nvidia-222"]) }.apply()
for parent in try kernel.readInventory().inventory.parents { try tree.addParent(parent) }
let vendor = SimulatedVendorGPUs(gpus: (16..<20).map { VendorProfiles.l40s(address($0)) })
for gpu in vendor.state.withLock({ $0.gpus }) { try tree.addVendorGPU(gpu, from: vendor) }
let scanner = VFIOHolderScanner(procRoot: tree.proc)
let host = CombinedHost(
    mdev: SysfsHost(reader: SysfsInventoryReader(sysfsRoot: tree.sys, holderScanner: scanner)),
    vendor: VendorVGPUBackend(files: SysfsVendorVGPUFiles(sysfsRoot: tree.sys, holderScanner: scanner), record: VendorVGPURecord(path: nil)))
let parents = try host.readInventory().inventory.parents.count
figures.append(Figure(
    name: "full reading: \(parents) parents, 256 devices", value: try await median(runs: 20) { _ = try host.readInventory() }, unit: "ms",
    goal: 100))
figures.append(Figure(
    name: "partial reading: one card of 16 devices", value: try await median(runs: 50) { _ = try host.readParents([address(3)]) }, unit: "ms",
    goal: 5))

// A whole apply from nothing on the simulated kernel: plan, writes, re-reads.
figures.append(Figure(
    name: "apply from nothing: 64 T4 cards (simulated kernel)",
    value: try await median(runs: 5) {
        let fresh = SimulatedKernel(parents: (0..<64).map { HardwareProfiles.t4(address($0)) })
        _ = try await Applier(host: fresh) { plan($0, ["nvidia-222", "nvidia-228"]) }.apply()
    }, unit: "ms", goal: 200))

// The shipped program as a whole process: the static binary (`--binary PATH`, default the one
// contrib/debian/build.sh builds), its size once stripped as the package ships it, and `plan` on the
// docs' three-T4 example from exec to exit.
let binaryArgument = CommandLine.arguments.firstIndex(of: "--binary").map { CommandLine.arguments[$0 + 1] }
let binary = binaryArgument ?? ".build-static/release/mdev-reconciler"

/// Runs `arguments` to its end with its output discarded; its termination.
func runQuietly(_ arguments: [String]) throws -> Spawn.Termination {
    let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
    defer { close(null) }
    return Spawn.waitForExit(try Spawn.start(arguments, stdout: null, stderr: null))
}

if FileSystem.exists(binary) {
    let stripped = "/tmp/mdev-reconciler-bench-stripped-\(getpid())"
    defer { unlink(stripped) }
    if try runQuietly(["/usr/bin/strip", "-o", stripped, binary]) == .exited(0) {
        var status = stat()
        stat(stripped, &status)
        figures.append(Figure(name: "static binary, stripped as packaged", value: Double(status.st_size) / 1_000_000, unit: "MB", goal: 20))
    }
    let plan = [binary, "plan", "--config", "contrib/examples/kubevirt-docs-three-t4.yaml", "--host-root", "contrib/example-hosts/three-t4",
                "--node-name", "node01"]
    guard try runQuietly(plan) == .exited(0) else { fatalError("\(plan.joined(separator: " ")) failed") }
    figures.append(Figure(
        name: "plan on three-t4 as a whole process (exec to exit)", value: try await median(runs: 41) { _ = try runQuietly(plan) },
        unit: "ms", goal: 10))
} else {
    print("not measured: no \(binary) (contrib/debian/build.sh builds it; or --binary PATH)")
}

// The peak of this process's memory (VmHWM): not getrusage's ru_maxrss, which survives execve and so, under
// `swift run`, is SwiftPM's own peak.
let status = try FileSystem.readText("/proc/self/status")
let peakKiB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { line in
    Double(line.dropFirst("VmHWM:".count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
} ?? .nan
figures.append(Figure(name: "peak resident memory of this run", value: peakKiB / 1024, unit: "MiB", goal: 64))

for figure in figures { print(figure.line) }
if CommandLine.arguments.contains("--check") && figures.contains(where: { !$0.met }) { exit(1) }
