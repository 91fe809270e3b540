import Foundation

/// Runs an external program: the real one, or a fake in tests.
public protocol CommandRunning: Sendable {
    /// Runs `executable` with `arguments` to its end.
    /// - Returns: The exit status and what it printed on stdout and stderr together.
    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String)
}

/// Runs programs with `Process`, stdin closed, output captured.
public struct ProcessRunner: CommandRunning {
    public init() {}

    public func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
