import Glibc

/// `name` in the temporary directory (`$TMPDIR`, else /tmp).
func temporaryPath(_ name: String) -> String {
    (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/" + name
}
