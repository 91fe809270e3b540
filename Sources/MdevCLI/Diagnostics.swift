import Foundation

/// Where commands print warnings and errors: standard error, one line each.
struct Diagnostics: Sendable {
    func print(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func warning(_ message: String) {
        print("mdev-reconciler: warning: \(message)")
    }
}
