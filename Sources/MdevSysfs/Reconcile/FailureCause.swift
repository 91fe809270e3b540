import MdevModel
import SystemPackage

/// Why a write failed, typed from the write to the status file, the journal and the scheduler: the kernel's
/// errno, a sysfs value that did not parse, a device a process took meanwhile, or another program's change.
public enum FailureCause: Sendable, Hashable {
    /// The kernel refused a read or write with this errno.
    case errno(Errno)
    /// A file read during the writes did not hold what the kernel writes there.
    case unparsable(SysfsValueError)
    /// A process opened the device after the plan was made; it is not removed.
    case inUse([DeviceHolder])
    /// Another program changed the parent since it was read (NVIDIA vendor mode: it configured the function).
    case changedMeanwhile
    /// Anything else: a write that did not take, a name not discovered, the vGPU record not written.
    case other

    /// The cause of an error thrown by a host's writes.
    public init(_ error: any Error) {
        switch error {
        case let error as SysfsError: self = .errno(error.errno)
        case let error as Errno: self = .errno(error)
        case let error as SysfsValueError: self = .unparsable(error)
        case VendorVGPUError.alreadyConfigured: self = .changedMeanwhile
        default: self = .other
        }
    }

    /// The errno, when the kernel gave one.
    public var errno: Errno? {
        if case .errno(let errno) = self { return errno }
        return nil
    }

    /// How the daemon retries it.
    public var retryClass: RetryClass {
        switch self {
        case .errno(.noSpace): .noCapacity
        case .errno(.operationNotSupportedByDevice), .errno(.noSuchFileOrDirectory), .errno(.noSuchAddressOrDevice): .parentGoing
        case .errno(.fileExists), .changedMeanwhile: .changedMeanwhile
        case .errno(.resourceBusy), .errno(.notPermitted), .errno(.resourceTemporarilyUnavailable): .transient
        case .inUse: .inUse
        case .errno, .unparsable, .other: .persistent
        }
    }
}

/// How a failed parent is retried (``FailureCause/retryClass``); the delays are in the daemon's timing table.
public enum RetryClass: String, Sendable, Hashable, Codable, CaseIterable {
    /// ENOSPC: no capacity. Not hammered: the card is read again, and retried on its next event or at the slow backoff.
    case noCapacity = "no-capacity"
    /// ENODEV, ENOENT, ENXIO: the parent is going away. Its event decides; the slow backoff is only a safety net.
    case parentGoing = "parent-going"
    /// EEXIST, or a vGPU configured by another program: read again soon and plan from what is there.
    case changedMeanwhile = "changed-meanwhile"
    /// EBUSY, EPERM, EAGAIN (NVIDIA's clear right after a VM exits): short retries, then the exponential backoff.
    case transient
    /// A VM took the device between the plan and the write: re-checked like a parent blocked by a device in use.
    case inUse = "in-use"
    /// EIO, EINVAL, unparsable values, anything else: exponential backoff.
    case persistent
}
