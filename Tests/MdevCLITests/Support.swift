import Foundation
import MdevSysfs
import MdevTestSupport
import Testing

/// The repository's root directory.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// What running the `mdev-reconciler` binary gave.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The environment the built `mdev-reconciler` runs in from tests: this one, with leak checking on when it
/// is built with AddressSanitizer (a leak then fails the test through the exit status).
func programEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["ASAN_OPTIONS"] = "detect_leaks=1"
    return environment
}

/// Runs the built `mdev-reconciler` with `arguments`, from the repository root; standard input from the file
/// `input` if given.
func runCLI(_ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]) throws -> CommandResult {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let binary = products.appendingPathComponent("mdev-reconciler")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw CLITestError("the mdev-reconciler binary is not at \(binary.path); build it first")
    }
    // Both pipes are read at the same time as the program runs: reading one after the other stalls a program
    // that fills the second (a sanitizer's report on stderr) while the first is still open.
    let environment = programEnvironment().merging(extra) { $1 }
    let child = if let input {
        try ChildProcess("/bin/sh", ["-c", "exec \"$@\" < \"$0\"", input, binary.path] + arguments,
                         environment: environment, directory: repositoryRoot)
    } else {
        try ChildProcess(binary.path, arguments, environment: environment, directory: repositoryRoot)
    }
    let result = child.output()
    return CommandResult(status: result.termination.status, stdout: result.stdout, stderr: result.stderr)
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The files and links of a tree as `relative path → "file:<content>" | "link:<target>"`, links not
/// followed. Directories are left out: git keeps no empty ones, so a clone lacks them.
func snapshot(_ root: String) throws -> [String: String] {
    var result: [String: String] = [:]
    func walk(_ relative: String) throws {
        let path = relative.isEmpty ? root : root + "/" + relative
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            let child = relative.isEmpty ? name : relative + "/" + name
            let full = root + "/" + child
            switch try FileManager.default.attributesOfItem(atPath: full)[.type] as? FileAttributeType {
            case .typeSymbolicLink?: result[child] = "link:" + (try FileManager.default.destinationOfSymbolicLink(atPath: full))
            case .typeDirectory?: try walk(child)
            default: result[child] = "file:" + (try FileSystem.readText(full))
            }
        }
    }
    try walk("")
    return result
}
