import MdevSysfs
import Testing

/// One host root from which every path is resolved.
@Suite("The host environment")
struct HostEnvironmentTests {
    @Test("Every path of a host root lies under it, the status file and sriov-manage's places included")
    func everyPathUnderTheRoot() {
        let environment = HostEnvironment(root: "/srv/host/")
        let paths = [
            environment.sysfsRoot, environment.procRoot, environment.machineIDFile, environment.configFile, environment.labelsFile,
            environment.stateDirectory, environment.statusFile, environment.udevControl,
        ] + environment.sriovManagePaths
        #expect(paths.allSatisfy { $0.hasPrefix("/srv/host/") && !$0.hasPrefix("/srv/host//") }, "\(paths)")
        #expect(environment.statusFile == "/srv/host/run/mdev-reconciler/status.json")
        #expect(environment.sriovManagePaths.count == HostEnvironment.sriovManageLocations.count)
    }

    @Test("The real system's places")
    func system() {
        let system = HostEnvironment.system
        #expect(system.sysfsRoot == "/sys")
        #expect(system.statusFile == "/run/mdev-reconciler/status.json")
        #expect(system.udevControl == "/run/udev/control")
        #expect(system.sriovManagePaths.first == "/usr/lib/nvidia/sriov-manage")
    }
}
