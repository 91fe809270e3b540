import MdevModel
import SystemPackage
import Testing

@testable import MdevSysfs

/// Failures keep their errno from the write to the scheduler.
@Suite("Failure causes and their retry classes")
struct FailureCauseTests {
    @Test("Each errno of a sysfs write maps to its retry class", arguments: [
        (Errno.noSpace, RetryClass.noCapacity), (.operationNotSupportedByDevice, .parentGoing), (.noSuchFileOrDirectory, .parentGoing),
        (.fileExists, .changedMeanwhile), (.resourceBusy, .transient), (.notPermitted, .transient), (.ioError, .persistent),
        (.invalidArgument, .persistent),
    ])
    func errnoClasses(errno: Errno, retryClass: RetryClass) {
        let cause = FailureCause(SysfsError(.write, "/sys/x/create", errno))
        #expect(cause == .errno(errno))
        #expect(cause.errno == errno)
        #expect(cause.retryClass == retryClass)
    }

    @Test("A value that does not parse, a VM that took the device and another program's vGPU have classes of their own")
    func otherCauses() {
        let unparsable = FailureCause(SysfsValueError(path: "/sys/x/available_instances", text: "x\n", expected: "a count"))
        #expect(unparsable.errno == nil && unparsable.retryClass == .persistent)
        #expect(FailureCause.inUse([DeviceHolder(pid: 1, command: "qemu")]).retryClass == .inUse)
        #expect(FailureCause(VendorVGPUError.alreadyConfigured(function: "f", number: 1)).retryClass == .changedMeanwhile)
        #expect(FailureCause(NotDiscoveredError("x")).retryClass == .persistent)
    }

    @Test("Errnos have their symbolic names")
    func names() {
        #expect(Errno.noSpace.symbolicName == "ENOSPC")
        #expect(Errno.operationNotSupportedByDevice.symbolicName == "ENODEV")
        #expect(Errno.resourceBusy.symbolicName == "EBUSY")
        #expect(Errno(rawValue: 4095).symbolicName == "errno 4095")
    }
}
