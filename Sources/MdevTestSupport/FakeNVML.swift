import FoundationEssentials
import Glibc
import MdevSysfs

/// The project's fake `libnvidia-ml.so.1` (`contrib/nvml-fake/fake_nvml.c`), compiled once per test process
/// against the same nvml.h as the program, with the Swift toolchain's clang.
public enum FakeNVML {
    /// What the fake's GPUs are (`MDEV_FAKE_NVML_GPUS`, see fake_nvml.c): `0000:41:00.0=a100-40gb:mig:gi=19/19`.
    public static let gpusVariable = "MDEV_FAKE_NVML_GPUS"

    public struct BuildError: Error, CustomStringConvertible {
        public var description: String
    }

    private static let built = LockedValue<Result<String, BuildError>?>(nil)
    /// The directory the fake is compiled into, removed when the process exits.
    private static let directory = temporaryPath("mdev-fake-nvml-\(getpid())")

    /// The path of the compiled fake.
    public static func library() throws(BuildError) -> String {
        try built.withLock { built in
            if built == nil { built = compile() }
            return built!
        }.get()
    }

    /// The environment that makes the program load the fake with these GPUs.
    public static func environment(gpus: String) throws(BuildError) -> [String: String] {
        [NVMLLibrary.overrideVariable: try library(), gpusVariable: gpus]
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
            atexit {
                unlink(FakeNVML.directory + "/libnvidia-ml.so.1")
                rmdir(FakeNVML.directory)
            }
            return .success(output)
        } catch {
            return .failure(BuildError(description: "compiling contrib/nvml-fake/fake_nvml.c: \(error)"))
        }
    }
}
