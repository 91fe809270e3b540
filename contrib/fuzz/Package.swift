// swift-tools-version: 6.1
// libFuzzer targets for every parser and file mdev-reconciler reads. Built only by `contrib/fuzz/run.sh`
// (with `-sanitize=fuzzer,address`), never by `swift build` at the repository root.
import PackageDescription

let package = Package(
    name: "mdev-reconciler-fuzz",
    dependencies: [
        // `mdev-reconciler` is a link to the repository root: a path dependency is known by its last component.
        .package(path: "mdev-reconciler"),
    ],
    targets: [
        // libFuzzer's entry point, declared for Swift.
        .target(name: "CFuzzerDriver"),
        // One executable, the target chosen by its first argument: `mdev-fuzz config [libFuzzer options]`.
        .executableTarget(
            name: "mdev-fuzz",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "MdevModel", package: "mdev-reconciler"),
                .product(name: "MdevSysfs", package: "mdev-reconciler"),
                .product(name: "MdevDaemon", package: "mdev-reconciler"),
                .product(name: "MdevCLI", package: "mdev-reconciler"),
            ],
            // No top-level code: libFuzzer owns `main`, and the entry point is `mdev_fuzz_main` (Entry.swift).
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
