import MdevModel
import SystemPackage

/// Where commands print warnings and errors: standard error, one line each, control characters escaped
/// (a message may carry text from a file: it must not move the cursor or recolour the terminal).
struct Diagnostics: Sendable {
    func print(_ line: String) {
        _ = try? FileDescriptor.standardError.writeAll((line.escapingControlCharacters + "\n").utf8)
    }

    func warning(_ message: String) {
        print("mdev-reconciler: warning: \(message)")
    }
}
