import FoundationEssentials
import Glibc
import MdevSysfs

/// The project's fake `libnvidia-ml.so.1` (`contrib/nvml-fake/fake_nvml.c`), compiled once per test process
/// against the same nvml.h as the program, with the Swift toolchain's clang. Each host is a copy of it with
/// its GPUs in a file beside it: loaded by its own path, a copy has state of its own, so tests that use it
/// run side by side in one process.
public enum FakeNVML {
    public struct BuildError: Error, CustomStringConvertible {
        public var description: String
    }

    private static let built = LockedValue<Result<String, BuildError>?>(nil)
    /// Every file made here, removed when the process exits.
    private static let made = LockedValue<(files: [String], directories: [String], count: Int)>(([], [], 0))
    /// The directory the fake is compiled into.
    private static let directory = temporaryPath("mdev-fake-nvml-\(getpid())")

    /// The path of the compiled fake, with no GPUs: its nvmlInit_v2 answers "Driver Not Loaded".
    public static func library() throws(BuildError) -> String {
        try built.withLock { built in
            if built == nil { built = compile() }
            return built!
        }.get()
    }

    /// A copy of the fake whose GPUs are `gpus` (see fake_nvml.c: `0000:41:00.0=a100-40gb:mig:gi=19/19`, `;` between GPUs).
    public static func library(gpus: String) throws(BuildError) -> String {
        try copy(gpus: gpus, state: nil)
    }

    /// The GPUs' state a copy saved (MIG mode, GPU instances with their ids), in the form of its GPUs file; nil
    /// before anything changed.
    public static func state(of library: String) -> String? {
        try? FileSystem.readText(library + ".state")
    }

    /// A GPU's MIG mode and GPU instances as the copy has them now (its state, else its GPUs file), for
    /// ``SimulatedVendorGPUs`` to list MIG-backed types by; nil for a GPU the copy does not have.
    public static func migState(of library: String, gpu: String) -> SimulatedVendorGPUs.MIGState? {
        guard let text = state(of: library) ?? (try? FileSystem.readText(library + ".gpus")) else { return nil }
        for entry in text.split(whereSeparator: { $0 == "\n" || $0 == ";" }) {
            guard let equals = entry.firstIndex(of: "="), entry[..<equals] == gpu else { continue }
            let options = entry[entry.index(after: equals)...].split(separator: ":").dropFirst()
            var mig = SimulatedVendorGPUs.MIGState(enabled: options.contains("mig"))
            for option in options where option.hasPrefix("gi=") {
                for instance in option.dropFirst(3).split(separator: "/") {
                    if let profile = Int(instance.prefix { $0 != "#" }) { mig.instances[profile, default: 0] += 1 }
                }
            }
            return mig
        }
        return nil
    }

    /// The same host seen by a program started again: a new copy (loaded afresh) with the GPUs and the state.
    public static func restarted(_ library: String) throws(BuildError) -> String {
        try copy(gpus: try gpus(of: library), state: state(of: library))
    }

    /// The same host after a reboot: GPU instances are gone, MIG mode is off on Hopper (`h100-80gb`: it does not
    /// survive a reboot there) and a pending MIG mode is in effect elsewhere.
    public static func rebooted(_ library: String) throws(BuildError) -> String {
        let gpus = try gpus(of: library)
        // `<bus id>=<model>[:option...]`: the bus id has colons of its own.
        let lines = (state(of: library) ?? gpus).split(whereSeparator: { $0 == "\n" || $0 == ";" }).map { entry in
            guard let equals = entry.firstIndex(of: "=") else { return String(entry) }
            var options = entry[entry.index(after: equals)...].split(separator: ":").map(String.init).filter { !$0.hasPrefix("gi=") }
            let hopper = options.first == "h100-80gb"
            options = options.compactMap { option in
                if option == "mig" || option == "pending" { return hopper ? nil : "mig" }
                return option
            }
            return entry[...equals] + options.joined(separator: ":")
        }
        return try copy(gpus: gpus, state: lines.joined(separator: "\n"))
    }

    /// The GPUs file of a copy, as it was made.
    private static func gpus(of library: String) throws(BuildError) -> String {
        do { return try FileSystem.readText(library + ".gpus") } catch { throw BuildError(description: "\(error)") }
    }

    private static func copy(gpus: String, state: String?) throws(BuildError) -> String {
        let original = try library()
        let number = made.withLock { made in
            made.count += 1
            return made.count
        }
        let copyDirectory = "\(directory)/\(number)"
        let copy = copyDirectory + "/libnvidia-ml.so.1"
        made.withLock { made in
            made.files += [copy, copy + ".gpus", copy + ".state", copy + ".state.new", copy + ".mirror"]
            made.directories.append(copyDirectory)
        }
        do {
            try FileSystem.createDirectories(copyDirectory)
            try FileSystem.writeAtomically(try FileSystem.readBytes(original), to: copy)
            try FileSystem.writeAtomically(Array((gpus + "\n").utf8), to: copy + ".gpus")
            if let state { try FileSystem.writeAtomically(Array((state + "\n").utf8), to: copy + ".state") }
        } catch {
            throw BuildError(description: "copying the fake NVML to \(copyDirectory): \(error)")
        }
        return copy
    }

    /// The environment that makes the program load a copy of the fake with these GPUs.
    public static func environment(gpus: String) throws(BuildError) -> [String: String] {
        [NVMLLibrary.overrideVariable: try library(gpus: gpus)]
    }

    private static func compile() -> Result<String, BuildError> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let output = directory + "/libnvidia-ml.so.1"
        do {
            try FileSystem.createDirectories(directory)
            let child = try ChildProcess(
                "/bin/sh", ["-c", "exec clang -shared -fPIC -Wall -Werror -I \"$0/Sources/CNVML/include\" -o \"$1\" \"$0/contrib/nvml-fake/fake_nvml.c\" 2>&1",
                            root, output],
                environment: ["PATH": (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin")])
            let result = child.output()
            guard result.termination.status == 0 else {
                return .failure(BuildError(description: "compiling contrib/nvml-fake/fake_nvml.c failed (run contrib/setup.sh for nvml.h): \(result.stdout)"))
            }
            made.withLock { made in
                made.files.append(output)
                made.directories.append(directory)
            }
            atexit { FakeNVML.removeEverything() }
            return .success(output)
        } catch {
            return .failure(BuildError(description: "compiling contrib/nvml-fake/fake_nvml.c: \(error)"))
        }
    }

    private static func removeEverything() {
        let (files, directories, _) = made.withLock { $0 }
        for file in files { unlink(file) }
        // The copies' directories first: they are inside the compiled one's.
        for directory in directories.reversed() { rmdir(directory) }
    }
}
