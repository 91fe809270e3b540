import Glibc
import MdevDaemon
import MdevSysfs

/// Writes `bytes` to this process's scratch file `name` and returns its path. A plain write: the
/// atomic, synced write of the program would make each run wait for the disk.
private func scratch(_ bytes: [UInt8], _ name: String) -> String {
    let path = scratchFile(name)
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    invariant(descriptor >= 0, "cannot open the scratch file \(path)")
    defer { close(descriptor) }
    invariant(bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == bytes.count, "short write to \(path)")
    return path
}

/// The status file `status` reads (`StatusFile.read` is the file layer's read and this decode, which also
/// refuses a parent listed twice). A status that reads writes back and reads the same, and `status` can
/// index its parents; anything else is one clean line naming the file.
let statusFileTarget = FuzzTarget(name: "status-file") { bytes in
    let path = "/run/mdev-reconciler/status.json"
    do {
        let status = try StatusFile.decode(bytes, path: path)
        invariant(status.parentsByName.count == status.parents.count, "a status read lists a parent twice")
        do {
            // What is written reads back as written (the first write may normalise: ISO 8601 dates keep whole seconds).
            let written = try JSONFile.encode(status)
            let again = try JSONFile.encode(try JSONFile.decode(DaemonStatus.self, from: written, path: path))
            invariant(again == written, "a status written back reads differently")
        } catch {
            invariant(false, "a status read cannot be written back and read: \(error)")
        }
    } catch let error as JSONFileError {
        invariant(error.description.hasPrefix(path + " "), "error does not name the file: \(error.description)")
        invariant(isOneCleanLine(error.description), "error is not one clean line: \(error.description.debugDescription)")
    } catch {
        invariant(false, "an error that is no JSONFileError: \(error)")
    }
}

/// The vGPU record in the state directory, also truncated or garbage. A record that cannot be read counts
/// as lost: it claims no function (so nothing is reconfigured or removed because of it), and says why in
/// one clean line.
let vgpuRecordTarget = FuzzTarget(name: "vgpu-record") { bytes in
    let path = scratch(bytes, "nvidia-vgpu.json")
    let record = VendorVGPURecord(path: path, readOnly: true)
    if let problem = record.takeLoadProblem() {
        invariant(record.configuredFunctions.isEmpty, "a record that could not be read claims \(record.configuredFunctions.count) functions")
        invariant(problem.contains(path), "the problem does not name the file: \(problem)")
        invariant(isOneCleanLine(problem), "the problem is not one clean line: \(problem.debugDescription)")
        invariant(record.takeLoadProblem() == nil, "the load problem is reported more than once")
    }
}
