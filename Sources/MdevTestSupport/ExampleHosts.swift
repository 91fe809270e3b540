import Foundation
import MdevModel

/// The example hosts shipped under `contrib/example-hosts/`, described in code so a test can check the
/// committed trees are exactly what this describes (and rewrite them on request).
public enum ExampleHosts {
    public struct Host: Sendable {
        /// The directory name under `contrib/example-hosts/`.
        public var name: String
        public var kernel: SimulatedKernel
        /// GPUs in NVIDIA's vendor-specific mode, if any.
        public var vendor: SimulatedVendorGPUs?
        /// Whether `class/mdev_bus` exists though no parent is in it (vendor-specific hosts have it empty or absent).
        public var emptyMdevBus = false
        /// `(pid, command, open files)` of processes holding devices.
        public var processes: [(pid: Int32, command: String, openFiles: [String])] = []
        public var machineID = "4a5f0c2e9b1d47e8a3c6f0b2d4e6a8c1\n"
    }

    /// The KubeVirt documentation's host: three Tesla T4 cards.
    public static func threeT4() -> Host {
        Host(name: "three-t4", kernel: SimulatedKernel(parents: ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"].map(HardwareProfiles.t4)))
    }

    /// KubeVirt's own test layout: three T4 cards and an Intel GPU with GVT-g.
    public static func t4AndGVTg() -> Host {
        Host(name: "t4-gvtg", kernel: SimulatedKernel(
            parents: [HardwareProfiles.gvtg()] + ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"].map(HardwareProfiles.t4)))
    }

    /// Two T4 cards already carrying devices: one of another type held by a VM, one foreign.
    public static func t4InUse() -> Host {
        let kernel = SimulatedKernel(parents: ["0000:3b:00.0", "0000:3c:00.0"].map(HardwareProfiles.t4))
        kernel.addDevice(UUID(uuidString: "9d1e4a35-7c2b-4f60-8e91-3a5b7c9d0e12")!, type: "nvidia-228", on: "0000:3b:00.0",
                         holders: [DeviceHolder(pid: 4242, command: "qemu-system-x86")])
        kernel.addDevice(UUID(uuidString: "c3f2b1a0-5d4e-4c8b-9a7f-6e5d4c3b2a10")!, type: "nvidia-230", on: "0000:3c:00.0")
        var host = Host(name: "t4-in-use", kernel: kernel)
        // The tree builder puts the first device of a parent in IOMMU group 100.
        host.processes = [(4242, "qemu-system-x86", ["/dev/vfio/vfio", "/dev/vfio/100", "anon_inode:[vfio-device]"])]
        return host
    }

    /// The kernel's mtty sample driver alone.
    public static func mtty() -> Host {
        Host(name: "mtty", kernel: SimulatedKernel(parents: [HardwareProfiles.mtty()]))
    }

    /// An NVIDIA A16-like GPU in mdev mode: 16 virtual functions, each a parent of one device.
    public static func a16() -> Host {
        Host(name: "a16-mdev-mode", kernel: SimulatedKernel(parents: HardwareProfiles.a16("0000:81:00.0")))
    }

    /// Two NVIDIA L40S-like GPUs in vendor-specific mode (vGPU 17+, kernel 6.8+): 32 virtual functions each
    /// with `nvidia/creatable_vgpu_types` as captured on a real host, and an empty `class/mdev_bus`.
    public static func l40sVendorMode() -> Host {
        var host = Host(
            name: "l40s-vendor-mode", kernel: SimulatedKernel(parents: []),
            vendor: SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0"), VendorProfiles.l40s("0000:4e:00.0")]))
        host.emptyMdevBus = true
        return host
    }

    public static var all: [Host] { [threeT4(), t4AndGVTg(), t4InUse(), mtty(), a16(), l40sVendorMode()] }

    /// Writes `host` as a tree under `root` (`root/sys`, `root/proc`, `root/etc/machine-id`).
    public static func write(_ host: Host, to root: String) throws {
        let builder = try SysfsTreeBuilder(root: root)
        for parent in try host.kernel.readInventory().inventory.parents { try builder.addParent(parent) }
        if let vendor = host.vendor {
            for gpu in vendor.state.withLock({ $0.gpus }) { try builder.addVendorGPU(gpu, from: vendor) }
        }
        if host.emptyMdevBus {
            try SysfsTreeBuilder.makeDirectory(builder.sys + "/class/mdev_bus")
            try "".write(toFile: builder.sys + "/class/mdev_bus/.keep", atomically: false, encoding: .utf8)
        }
        for process in host.processes {
            try builder.addProcess(pid: process.pid, command: process.command, openFiles: process.openFiles)
        }
        try builder.writeMachineID(host.machineID)
        // Keeps the empty proc directory in git.
        try "".write(toFile: builder.proc + "/.keep", atomically: false, encoding: .utf8)
    }
}
