// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "mdev-reconciler",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mdev-reconciler", targets: ["mdev-reconciler"]),
        // The layers as libraries, for the fuzz targets in contrib/fuzz (a package of their own).
        .library(name: "MdevModel", targets: ["MdevModel"]),
        .library(name: "MdevSysfs", targets: ["MdevSysfs"]),
        .library(name: "MdevDaemon", targets: ["MdevDaemon"]),
        .library(name: "MdevCLI", targets: ["MdevCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.1.1"),
    ],
    targets: [
        // Pure model, config and planner: no I/O at all. YAML is read by Debian's libyaml.
        .target(name: "MdevModel", dependencies: ["CYAML"]),
        // Everything that touches sysfs, procfs and /etc: inventory, in-use scan, writes, apply.
        .target(
            name: "MdevSysfs",
            dependencies: [
                "MdevModel",
                "CNVML",
                "COpenat2",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // NVIDIA's NVML, opened at run time (dlopen) from the driver's libnvidia-ml.so.1 and declared by NVIDIA's
        // own nvml.h, which contrib/setup.sh fetches into Sources/CNVML/include (never committed).
        .target(name: "CNVML", linkerSettings: [.linkedLibrary("dl")]),
        // The cluster's half (`kube-agent`): the API server through Debian's libcurl (CCurl), watches, reports.
        .target(
            name: "MdevKube",
            dependencies: ["CCurl", "MdevDaemon", "MdevModel", "MdevSysfs", .product(name: "Logging", package: "swift-log")]
        ),
        // libcurl, whose variadic setopt Swift cannot call: one C function per request. Opened at run time
        // (dlopen), so only kube-agent loads it; its header comes from Debian's libcurl4-openssl-dev.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // openat2(2), which glibc does not wrap: reads and writes resolved inside a root (``ConfinedRoot``).
        .target(name: "COpenat2"),
        // C libraries from Debian, each in a module of its own.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        // glibc functions the Glibc module leaves out (malloc_trim).
        .systemLibrary(name: "CGlibcShims"),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The daemon: event sources, the reconciler state machine and actor, systemd integration.
        .target(
            name: "MdevDaemon",
            dependencies: [
                "CGlibcShims",
                "CUdev",
                "CSystemd",
                "MdevModel",
                "MdevSysfs",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Builders and an in-process simulated kernel, shared by the test targets.
        .target(
            name: "MdevTestSupport",
            dependencies: [
                "MdevModel", "MdevSysfs", .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The command line: argument parsing and rendering.
        .target(
            name: "MdevCLI",
            dependencies: [
                "MdevDaemon",
                "MdevKube",
                "MdevModel",
                "MdevSysfs",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(name: "mdev-reconciler", dependencies: ["MdevCLI"]),
        // Speed and memory figures against their goals: `swift run -c release mdev-reconciler-bench`.
        .executableTarget(name: "mdev-reconciler-bench", dependencies: ["MdevModel", "MdevSysfs", "MdevTestSupport"]),
        .testTarget(name: "MdevModelTests", dependencies: ["MdevModel", "MdevTestSupport"]),
        .testTarget(name: "MdevSysfsTests", dependencies: ["MdevModel", "MdevSysfs", "MdevTestSupport"]),
        .testTarget(
            name: "MdevDaemonTests",
            dependencies: [
                "CGlibcShims", "MdevDaemon", "MdevModel", "MdevSysfs", "MdevTestSupport",
                .product(name: "Clocks", package: "swift-clocks"),
            ]
        ),
        .testTarget(name: "MdevKubeTests", dependencies: ["MdevKube", "MdevSysfs", "MdevTestSupport"]),
        // Against a real API server and etcd (`KubeAPIServer`): the cluster manifests and, later, the agent.
        // Also runs the built `mdev-reconciler` binary (the whole chain), so it depends on the executable.
        .testTarget(name: "MdevClusterTests", dependencies: ["MdevDaemon", "MdevKube", "MdevModel", "MdevSysfs", "MdevTestSupport", "mdev-reconciler"]),
        // Also runs the built `mdev-reconciler` binary, so it depends on the executable.
        .testTarget(name: "MdevCLITests", dependencies: ["MdevCLI", "MdevDaemon", "MdevModel", "MdevTestSupport", "mdev-reconciler"]),
    ]
)
