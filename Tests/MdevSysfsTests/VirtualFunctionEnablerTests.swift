import SystemPackage
import Glibc
import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// `sriov-manage -e` for NVIDIA GPUs without virtual functions, over a sysfs tree and a fake runner.
@Suite("Enabling SR-IOV virtual functions")
struct VirtualFunctionEnablerTests {
    /// Stands in for sriov-manage: records its calls and, unless told to fail, enables the functions in the tree.
    final class FakeSriovManage: CommandRunning {
        let calls = LockedValue<[[String]]>([])
        let failure: (status: Int32, output: String)?
        let sys: String

        init(sys: String, failure: (status: Int32, output: String)? = nil) {
            self.sys = sys
            self.failure = failure
        }

        func run(
            _ executable: String, _ arguments: [String], deadline: Duration, onLateExit: @escaping @Sendable () -> Void
        ) throws -> (status: Int32, output: String) {
            calls.withLock { $0.append([executable] + arguments) }
            if let failure { return failure }
            try "32\n".write(toFile: sys + "/bus/pci/devices/\(arguments[1])/sriov_numvfs", atomically: false, encoding: .utf8)
            return (0, "Enabling VFs on \(arguments[1])\n")
        }
    }

    /// A tree with four PCI devices: an NVIDIA GPU without functions (the only one to enable), one with
    /// its functions enabled, one bound to vfio-pci (passed through to a VM), and a non-NVIDIA SR-IOV NIC.
    func makeTree() throws -> (SysfsTreeBuilder, tool: String) {
        let tree = try SysfsTreeBuilder.temporary()
        let devices: [(String, String, String, Int)] = [
            ("0000:3d:00.0", "0x10de", "nvidia", 0), ("0000:4e:00.0", "0x10de", "nvidia", 32),
            ("0000:5f:00.0", "0x10de", "vfio-pci", 0), ("0000:6a:00.0", "0x8086", "ice", 0),
        ]
        for (name, vendor, driver, enabled) in devices {
            let directory = tree.sys + "/devices/pci0000:00/" + name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: tree.sys + "/bus/pci/devices", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: tree.sys + "/bus/pci/devices/" + name, withDestinationPath: "../../../devices/pci0000:00/" + name)
            try FileManager.default.createSymbolicLink(atPath: directory + "/driver", withDestinationPath: "../../../bus/pci/drivers/" + driver)
            try "\(vendor)\n".write(toFile: directory + "/vendor", atomically: false, encoding: .utf8)
            try "32\n".write(toFile: directory + "/sriov_totalvfs", atomically: false, encoding: .utf8)
            try "\(enabled)\n".write(toFile: directory + "/sriov_numvfs", atomically: false, encoding: .utf8)
        }
        let tool = tree.root + "/usr/lib/nvidia/sriov-manage"
        try FileManager.default.createDirectory(atPath: tree.root + "/usr/lib/nvidia", withIntermediateDirectories: true)
        try "#!/bin/sh\n".write(toFile: tool, atomically: false, encoding: .utf8)
        return (tree, tool)
    }

    @Test("Only an NVIDIA GPU bound to nvidia with no functions is enabled, with sriov-manage -e <BDF>")
    func enablesOnlyEligibleGPUs() throws {
        let (tree, tool) = try makeTree()
        defer { tree.removeAll() }
        let runner = FakeSriovManage(sys: tree.sys)
        let enabler = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: runner, toolPaths: ["/nonexistent/sriov-manage", tool])
        #expect(enabler.gpusWithoutFunctions() == ["0000:3d:00.0"])
        #expect(enabler.enable() == [VirtualFunctionEnabler.Outcome(gpu: "0000:3d:00.0", result: .enabled)])
        #expect(runner.calls.withLock { $0 } == [[tool, "-e", "0000:3d:00.0"]])
        // Enabled now: nothing more to do.
        #expect(enabler.enable().isEmpty)
        #expect(runner.calls.withLock { $0.count } == 1)
    }

    @Test("Where NVML reports a GPU not in SR-IOV mode (a T4), sriov-manage is never run for it; where it cannot tell, sysfs decides")
    func nvmlHostMode() throws {
        let (tree, tool) = try makeTree()
        defer { tree.removeAll() }
        let runner = FakeSriovManage(sys: tree.sys)
        let nonSRIOV = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: runner, toolPaths: [tool]) { _ in false }
        #expect(nonSRIOV.gpusWithoutFunctions().isEmpty)
        #expect(nonSRIOV.enable().isEmpty)
        #expect(runner.calls.withLock { $0 }.isEmpty)
        let unknown = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: runner, toolPaths: [tool]) { _ in nil }
        #expect(unknown.gpusWithoutFunctions() == ["0000:3d:00.0"])
        let asked = LockedValue<[String]>([])
        let sriov = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: runner, toolPaths: [tool]) { gpu in
            asked.withLock { $0.append(gpu) }
            return true
        }
        #expect(sriov.enable().map(\.result) == [.enabled])
        // NVML is asked only about GPUs sysfs already found eligible.
        #expect(asked.withLock { $0 } == ["0000:3d:00.0"])
    }

    @Test("Names from events limit the GPUs looked at")
    func limitedToNames() throws {
        let (tree, tool) = try makeTree()
        defer { tree.removeAll() }
        let runner = FakeSriovManage(sys: tree.sys)
        let enabler = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: runner, toolPaths: [tool])
        #expect(enabler.enable(among: ["0000:4e:00.0", "0000:5f:00.0"]).isEmpty)
        #expect(runner.calls.withLock { $0 }.isEmpty)
        #expect(enabler.enable(among: ["0000:3d:00.0"]).map(\.gpu) == ["0000:3d:00.0"])
    }

    @Test("Cannot obtain unbindLock is reported as the GPU being held by an NVML client; other failures keep their output")
    func failures() throws {
        let (tree, tool) = try makeTree()
        defer { tree.removeAll() }
        let busy = VirtualFunctionEnabler(
            sysfsRoot: tree.sys, runner: FakeSriovManage(sys: tree.sys, failure: (1, "Cannot obtain unbindLock for 0000:3d:00.0\n")),
            toolPaths: [tool]).enable()
        #expect(busy.count == 1)
        #expect(busy.first?.description.contains("Cannot obtain unbindLock (an NVML client such as DCGM") == true)
        // Exit status 0 but no functions: sysfs decides, it failed.
        let silent = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: FakeSriovManage(sys: tree.sys, failure: (0, "nothing\n")), toolPaths: [tool])
            .enable()
        #expect(silent == [VirtualFunctionEnabler.Outcome(gpu: "0000:3d:00.0", result: .failed(status: 0, output: "nothing\n"))])
        #expect(silent.first?.description == "sriov-manage -e 0000:3d:00.0 exited 0, but 0000:3d:00.0 still has no virtual functions: nothing")
    }

    @Test("Without sriov-manage the GPU is reported with where it was looked for, and nothing runs")
    func toolMissing() throws {
        let (tree, _) = try makeTree()
        defer { tree.removeAll() }
        let runner = FakeSriovManage(sys: tree.sys)
        let outcomes = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: runner, toolPaths: ["/nonexistent/sriov-manage"]).enable()
        #expect(outcomes == [VirtualFunctionEnabler.Outcome(gpu: "0000:3d:00.0", result: .toolMissing(lookedIn: ["/nonexistent/sriov-manage"]))])
        #expect(outcomes.first?.description.contains("looked in /nonexistent/sriov-manage") == true)
        #expect(runner.calls.withLock { $0 }.isEmpty)
    }

    /// A sriov-manage that never returns in time: keeps the late-exit callback for the test to call.
    final class HangingSriovManage: CommandRunning {
        let calls = LockedValue(0)
        let lateExit = LockedValue<(@Sendable () -> Void)?>(nil)

        func run(
            _ executable: String, _ arguments: [String], deadline: Duration, onLateExit: @escaping @Sendable () -> Void
        ) throws -> (status: Int32, output: String) {
            calls.withLock { $0 += 1 }
            lateExit.withLock { $0 = onLateExit }
            throw CommandTimedOut(command: executable, deadline: deadline)
        }
    }

    @Test("A sriov-manage past its deadline is reported like a stuck write and not started again for that GPU until it ends")
    func deadline() throws {
        let (tree, tool) = try makeTree()
        defer { tree.removeAll() }
        let runner = HangingSriovManage()
        let enabler = VirtualFunctionEnabler(sysfsRoot: tree.sys, runner: runner, toolPaths: [tool], deadline: .seconds(120))
        let outcomes = enabler.enable()
        #expect(outcomes == [VirtualFunctionEnabler.Outcome(gpu: "0000:3d:00.0", result: .timedOut(after: .seconds(120)))])
        #expect(outcomes.first?.description.contains("has not returned after 120.0 seconds; it is left running") == true)
        #expect(enabler.enable().isEmpty)
        #expect(runner.calls.withLock { $0 } == 1)
        runner.lateExit.withLock { $0 }?()
        #expect(enabler.enable().count == 1)
        #expect(runner.calls.withLock { $0 } == 2)
    }

    @Test("The real runner: a program past its deadline throws, goes on, and reports when it ends; one in time gives its output")
    func processRunner() async throws {
        let runner = ProcessRunner()
        let result = try runner.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], deadline: .seconds(30)) {}
        #expect(result.status == 3 && result.output == #"out\nerr"#)
        let ended = Recorder<Void>()
        #expect(throws: CommandTimedOut.self) {
            try runner.run("/bin/sh", ["-c", "sleep 1"], deadline: .milliseconds(50)) { ended.record(()) }
        }
        _ = try await ended.first(from: 0) { true }
    }

    @Test("The real runner: a signal's end is 128 + its number, output beyond a pipe's size is all read, and the child gets no blocked signals")
    func processRunnerDetails() throws {
        let runner = ProcessRunner()
        #expect(try runner.run("/bin/sh", ["-c", "kill -TERM $$"], deadline: .seconds(30)) {}.status == 143)
        // Output beyond 16 KiB: its end is kept (a program printing without end took the daemon to gigabytes).
        let big = try runner.run("/bin/sh", ["-c", "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo the error"], deadline: .seconds(30)) {}
        let kept = String(repeating: "x", count: ProcessRunner.outputLimit - 11) + #"\nthe error"#
        #expect(big.status == 0 && big.output == "[\(5_000_011 - ProcessRunner.outputLimit) bytes before not kept] " + kept)
        // What a child prints is escaped: a terminal or the journal never gets its control sequences.
        let escapes = try runner.run("/bin/printf", [#"q\033]0;owned\007\033[2J"#], deadline: .seconds(30)) {}
        #expect(escapes.output == #"q\u{1B}]0;owned\u{7}\u{1B}[2J"#)
        // The daemon blocks the signals it reads; a child started from such a thread must not inherit that.
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let mask = try runner.run("/bin/sh", ["-c", "grep SigBlk /proc/self/status"], deadline: .seconds(30)) {}
        #expect(mask.output == #"SigBlk:\t0000000000000000"#)
        #expect(throws: Errno.noSuchFileOrDirectory) { try runner.run("/nonexistent/sriov-manage", [], deadline: .seconds(1)) {} }
    }
}
