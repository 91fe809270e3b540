import Glibc
import Synchronization

/// `name` in this test process's own directory: a directory only root can write to, made once in the
/// temporary directory (`$TMPDIR`, else /tmp), because the program writes its files only into such
/// directories (README, "Security"). It is removed at exit once empty.
public func temporaryPath(_ name: String) -> String {
    ScratchDirectory.path + "/" + name
}

private enum ScratchDirectory {
    static let path: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/mdev-tests-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { return base }
        let path = String(cString: template)
        removeAtExit.withLock { $0 = path }
        atexit { removeAtExit.withLock { path in if let path { rmdir(path) } } }
        return path
    }()
}

private let removeAtExit = Mutex<String?>(nil)
