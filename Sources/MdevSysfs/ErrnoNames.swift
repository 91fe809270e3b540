import SystemPackage

extension Errno {
    /// The symbolic name (`ENOSPC`), as in the status file and the journal's `MDEV_ERRNO`; `errno N` for one
    /// this program never expects from sysfs.
    public var symbolicName: String {
        switch self {
        case .notPermitted: "EPERM"
        case .noSuchFileOrDirectory: "ENOENT"
        case .noSuchProcess: "ESRCH"
        case .interrupted: "EINTR"
        case .ioError: "EIO"
        case .noSuchAddressOrDevice: "ENXIO"
        case .badFileDescriptor: "EBADF"
        case .resourceTemporarilyUnavailable: "EAGAIN"
        case .noMemory: "ENOMEM"
        case .permissionDenied: "EACCES"
        case .resourceBusy: "EBUSY"
        case .fileExists: "EEXIST"
        case .improperLink: "EXDEV"
        case .operationNotSupportedByDevice: "ENODEV"
        case .notDirectory: "ENOTDIR"
        case .isDirectory: "EISDIR"
        case .invalidArgument: "EINVAL"
        case .noSpace: "ENOSPC"
        case .readOnlyFileSystem: "EROFS"
        case .timedOut: "ETIMEDOUT"
        case .notSupported: "EOPNOTSUPP"
        case .noBufferSpace: "ENOBUFS"
        case .fileNameTooLong: "ENAMETOOLONG"
        case .tooManySymbolicLinkLevels: "ELOOP"
        default: "errno \(rawValue)"
        }
    }
}
