import Foundation
import MdevSysfs
import MdevTestSupport
import Testing

/// `mdevReconciler.enableVirtualFunctions` through `apply`, with a recording `sriov-manage` under the host root.
@Suite("Enabling virtual functions from apply")
struct VirtualFunctionEnablementTests {
    /// Makes `name` a PCI device of `bus/pci/devices` that advertises SR-IOV with no function enabled.
    func advertiseSRIOV(_ name: String, sys: String) throws {
        let directory = sys + "/devices/pci0000:00/" + name
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try manager.createDirectory(atPath: sys + "/bus/pci/devices", withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: sys + "/bus/pci/devices/" + name, withDestinationPath: "../../../devices/pci0000:00/" + name)
        if (try? manager.destinationOfSymbolicLink(atPath: directory + "/driver")) == nil {
            try manager.createSymbolicLink(atPath: directory + "/driver", withDestinationPath: "../../../bus/pci/drivers/nvidia")
        }
        for (file, value) in [("vendor", "0x10de"), ("device", "0x25b6"), ("sriov_totalvfs", "16"), ("sriov_numvfs", "0")]
        where !manager.fileExists(atPath: directory + "/" + file) || file.hasPrefix("sriov") {
            try "\(value)\n".write(toFile: directory + "/" + file, atomically: false, encoding: .utf8)
        }
    }

    /// A stand-in `sriov-manage` under the host root that appends its arguments (and what `note` prints) to
    /// `calls` and enables nothing.
    func recordingSriovManage(host: String, calls: String, note: String = "") throws -> String {
        let tool = host + "/usr/lib/nvidia/sriov-manage"
        try FileManager.default.createDirectory(atPath: host + "/usr/lib/nvidia", withIntermediateDirectories: true)
        let noted = note.isEmpty ? "" : " $(\(note))"
        try "#!/bin/sh\necho \"$@\(noted)\" >> \(calls)\n".write(toFile: tool, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool)
        return calls
    }

    @Test("A T4 (mdev parent on its physical function, sriov_totalvfs 16) never gets sriov-manage; an A16 without functions gets exactly one")
    func t4IsNeverEnabled() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = directory + "/host"
        try copyExampleHost("three-t4", to: host)
        // The T4s are mdev parents; like the real card they advertise 16 functions they never create.
        for t4 in ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"] { try advertiseSRIOV(t4, sys: host + "/sys") }
        try advertiseSRIOV("0000:81:00.0", sys: host + "/sys")
        let calls = try recordingSriovManage(host: host, calls: directory + "/calls")
        let config = directory + "/config.yaml"
        try """
            mediatedDevicesConfiguration:
              mediatedDeviceTypes: [nvidia-222]
            mdevReconciler:
              enableVirtualFunctions: true

            """.write(toFile: config, atomically: false, encoding: .utf8)
        let result = try runCLI(["apply", "--config", config, "--host-root", host, "--node-name", "n"])
        #expect(try FileSystem.readText(calls) == "-e 0000:81:00.0\n", "\(result.stderr)")
        // The recording tool enabled nothing, so the A16 is reported as failed; the T4s are not named at all.
        #expect(result.stderr.contains("sriov-manage -e 0000:81:00.0 exited 0, but 0000:81:00.0 still has no virtual functions"))
        #expect(!result.stderr.contains("0000:3b:00.0 supports SR-IOV"))
    }

    @Test("With NVML there, a GPU it reports not in SR-IOV mode never gets sriov-manage, whatever sysfs shows; one in SR-IOV mode does")
    func nvmlDecides() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = directory + "/host"
        try copyExampleHost("mtty", to: host)
        // Two GPUs sysfs alone would enable; NVML knows one as a T4 (not SR-IOV), the other as an A100.
        try advertiseSRIOV("0000:3b:00.0", sys: host + "/sys")
        try advertiseSRIOV("0000:41:00.0", sys: host + "/sys")
        let calls = try recordingSriovManage(host: host, calls: directory + "/calls")
        let config = directory + "/config.yaml"
        try "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-1]\nmdevReconciler:\n  enableVirtualFunctions: true\n"
            .write(toFile: config, atomically: false, encoding: .utf8)
        let nvml = try FakeNVML.environment(gpus: "0000:3b:00.0=t4;0000:41:00.0=a100-40gb")
        let result = try runCLI(["apply", "--config", config, "--host-root", host, "--node-name", "n"], environment: nvml)
        #expect(try FileSystem.readText(calls) == "-e 0000:41:00.0\n", "\(result.stderr)")
        // Without NVML, sysfs alone decides: both.
        try? FileManager.default.removeItem(atPath: calls)
        _ = try runCLI(["apply", "--config", config, "--host-root", host, "--node-name", "n"],
                       environment: ["MDEV_RECONCILER_NVML_LIBRARY": "/nonexistent/libnvidia-ml.so.1"])
        #expect(try FileSystem.readText(calls) == "-e 0000:3b:00.0\n-e 0000:41:00.0\n")
    }

    @Test("With manageMIG, a GPU to get a MIG-backed type has MIG mode on before sriov-manage -e runs (the driver's order); without it, not")
    func migModeBeforeFunctions() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = directory + "/host"
        try copyExampleHost("mtty", to: host)
        try advertiseSRIOV("0000:42:00.0", sys: host + "/sys")
        // The stand-in says whether NVML (the fake's saved state) had MIG mode on when it ran.
        let calls = try recordingSriovManage(
            host: host, calls: directory + "/calls",
            note: "grep -q =h100-80gb:mig \"$MDEV_RECONCILER_NVML_LIBRARY.state\" 2>/dev/null && echo mig || echo no-mig")
        for manageMIG in [true, false] {
            let config = directory + "/config.yaml"
            try """
                mediatedDevicesConfiguration:
                  mediatedDeviceTypes: [NVIDIA_H100-1-20C]
                mdevReconciler:
                  enableVirtualFunctions: true
                  manageMIG: \(manageMIG)

                """.write(toFile: config, atomically: false, encoding: .utf8)
            try? FileManager.default.removeItem(atPath: calls)
            let nvml = try FakeNVML.environment(gpus: "0000:42:00.0=h100-80gb")
            let result = try runCLI(["apply", "--config", config, "--host-root", host, "--node-name", "n"], environment: nvml)
            #expect(try FileSystem.readText(calls) == "-e 0000:42:00.0 \(manageMIG ? "mig" : "no-mig")\n", "\(result.stderr)")
            #expect(result.stderr.contains("turned MIG mode on for GPU 0000:42:00.0 before enabling its virtual functions") == manageMIG)
        }
    }
}
