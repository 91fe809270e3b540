import FoundationEssentials
import MdevModel
import MdevSysfs

/// `nvml` as text and JSON.
enum NVMLReportRenderer {
    static func render(_ report: NVMLReport, format: OutputFormat) throws -> String {
        switch format {
        case .json: return String(decoding: try JSONFile.encode(report), as: UTF8.self)
        case .text: return text(report)
        }
    }

    /// The GPU's modes, a line each: host vGPU mode, MIG mode, heterogeneous vGPUs (`nvml` and `types` show them).
    static func modeLines(_ gpu: NVMLReport.GPU) -> [String] {
        var lines = ["host vGPU mode: " + (gpu.hostVgpuMode.map { $0 == "sriov" ? "SR-IOV" : "not SR-IOV" } ?? "unknown")]
        if let mig = gpu.migMode {
            let state = { (enabled: Bool) in enabled ? "enabled" : "disabled" }
            var line = "MIG mode: \(state(mig.current))"
            if mig.pending != mig.current { line += " (\(state(mig.pending)) after a GPU reset)" }
            if !mig.current { line += "; its GPU-instance profiles are listed while it is enabled" }
            lines.append(line)
        } else {
            lines.append("MIG mode: not supported")
        }
        lines.append("heterogeneous vGPUs: " + (gpu.heterogeneousVgpus.map { $0 ? "on" : "off" } ?? "not supported"))
        return lines
    }

    static func text(_ report: NVMLReport) -> String {
        var lines = ["NVML: driver \(report.driverVersion ?? "unknown") (\(report.library)), \(PlanRenderer.counted(report.gpus.count, "GPU"))"]
        for gpu in report.gpus {
            lines += ["", "GPU \(gpu.address)  \(gpu.name ?? "unknown name")"]
            lines += modeLines(gpu).map { "  " + $0 }
            if !gpu.gpuInstanceProfiles.isEmpty {
                var table = TextTable(["    PROFILE", "NAME", "SLICES", "MEMORY", "INSTANCES"])
                for profile in gpu.gpuInstanceProfiles {
                    table.add(["    \(profile.id)", profile.name, "\(profile.slices)", "\(profile.memoryMB) MB", "\(profile.instances) of \(profile.maxInstances)"])
                }
                lines += ["  GPU-instance profiles:", table.rendered]
            }
            if gpu.vgpuTypes.isEmpty {
                lines.append("  vGPU types: none")
            } else {
                var table = TextTable(["    TYPE", "NAME", "CLASS", "FRAMEBUFFER", "MAX", "GPU INSTANCE", "CREATABLE"])
                for type in gpu.vgpuTypes {
                    table.add([
                        "    \(type.typeID)", type.name ?? "?", type.typeClass ?? "?", type.framebufferMB.map { "\($0) MB" } ?? "?",
                        type.maxInstances.map(String.init) ?? "?", type.gpuInstanceProfile.map { "profile \($0)" } ?? "-", type.creatable ? "yes" : "no",
                    ])
                }
                lines += ["  vGPU types:", table.rendered]
            }
            for problem in gpu.problems { lines.append("  problem: \(problem)") }
        }
        return lines.joined(separator: "\n")
    }
}
