import MdevSysfs
import SystemPackage

/// The errno of the ``SysfsError`` `body` throws; nil when it throws nothing, or something else.
func thrownErrno(_ body: () throws -> Void) -> Errno? {
    do {
        try body()
        return nil
    } catch let error as SysfsError {
        return error.errno
    } catch {
        return nil
    }
}
