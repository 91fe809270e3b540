import FoundationEssentials
import Glibc
import MdevSysfs

/// Debian's own checkers, run on what the program printed: `promtool check metrics` (package `prometheus`)
/// and libvirt's `virt-xml-validate` (package `libvirt-clients`). `contrib/setup.sh` installs both; a missing
/// one is an error, never a skipped check.
public enum ExternalChecker {
    public struct Result: Sendable {
        public var passed: Bool
        /// What the checker printed (its findings).
        public var output: String
    }

    public struct Missing: Error, CustomStringConvertible {
        public var tool: String
        public var description: String { "\(tool) is not installed: run contrib/setup.sh (it installs the checkers the tests use)" }
    }

    /// `promtool check metrics` on `text` (its standard input): the format and Prometheus' naming lint.
    public static func promtool(_ text: String) throws -> Result {
        try run("/usr/bin/promtool", ["check", "metrics"], input: text)
    }

    /// `virt-xml-validate FILE domain`, on `xml` written to a temporary file: libvirt's RelaxNG schema.
    public static func virtXMLValidate(domain xml: String) throws -> Result {
        let path = temporaryPath("mdev-domain-" + UUID().uuidString + ".xml")
        try FileSystem.writeAtomically(Array(xml.utf8), to: path)
        defer { unlink(path) }
        return try run("/usr/bin/virt-xml-validate", [path, "domain"], input: nil)
    }

    private static func run(_ tool: String, _ arguments: [String], input: String?) throws -> Result {
        guard access(tool, X_OK) == 0 else { throw Missing(tool: tool) }
        var command = ["/bin/sh", "-c", "exec \"$@\" 2>&1", "sh", tool] + arguments
        var inputPath: String?
        if let input {
            let path = temporaryPath("mdev-input-" + UUID().uuidString)
            try FileSystem.writeAtomically(Array(input.utf8), to: path)
            inputPath = path
            command = ["/bin/sh", "-c", "exec \"$@\" < \"$0\" 2>&1", path, tool] + arguments
        }
        defer { if let inputPath { unlink(inputPath) } }
        let child = try ChildProcess(command[0], Array(command.dropFirst()), environment: ["PATH": "/usr/bin:/bin"])
        let result = child.output()
        return Result(passed: result.termination.status == 0, output: result.stdout + result.stderr)
    }
}

/// The samples of a Prometheus text file by `name{labels}` exactly as printed (`mdev_reconciler_passes_total{trigger="start"}`).
public func prometheusSamples(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        samples[String(line[..<space])] = value
    }
    return samples
}
