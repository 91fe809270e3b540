import Glibc
import MdevModel

/// One fuzz target: a name and what it does with one input. It checks the parser's own invariants and
/// stops the process (a crash libFuzzer records, with the input) when one does not hold.
struct FuzzTarget: Sendable {
    var name: String
    var run: @Sendable ([UInt8]) -> Void
}

/// Stops the run with `message` when `condition` is false.
func invariant(_ condition: Bool, _ message: @autoclosure () -> String) {
    guard !condition else { return }
    printError("invariant broken: \(message())\n")
    abort()
}

/// Writes `message` to standard error.
func printError(_ message: String) {
    var bytes = Array(message.utf8)
    _ = write(2, &bytes, bytes.count)
}

/// The input as text, or nil when it is not UTF-8 (the program refuses such files before parsing them).
func text(_ bytes: [UInt8]) -> String? {
    String(validating: bytes, as: UTF8.self)
}

/// Whether `line` is one line with no control characters (the ones messages escape): what every message must be.
func isOneCleanLine(_ line: String) -> Bool {
    !line.unicodeScalars.contains(where: MessageText.isControl)
}

/// A file of this process in the temporary directory, for targets that go through the file layer.
func scratchFile(_ name: String) -> String {
    "/tmp/mdev-fuzz-\(getpid())-\(name)"
}
