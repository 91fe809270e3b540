import CFuzzerDriver
import Glibc

/// Every target, by the name `run.sh` and the first argument use.
let targets: [String: FuzzTarget] = Dictionary(uniqueKeysWithValues: [
    configTarget, labelsTarget, vgpuTypesTarget, typeDescriptionTarget, sysfsNumberTarget, ueventTarget,
    statusFileTarget, vgpuRecordTarget, holderLinksTarget, layoutRecordTarget, optionsTarget,
].map { ($0.name, $0) })

/// The target this process runs. The name is also put in the environment, so the processes libFuzzer
/// starts itself (`-jobs`, `-fork`) run the same one.
nonisolated(unsafe) var selected: FuzzTarget?

/// SwiftPM links an executable with `main` defined as `<module>_main`; libFuzzer's driver does the rest.
@_cdecl("mdev_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var arguments = (0..<Int(argc)).map { argv?[$0] }
    var name = getenv("MDEV_FUZZ_TARGET").map { String(cString: $0) }
    if arguments.count > 1, let first = arguments[1].map({ String(cString: $0) }), targets[first] != nil {
        name = first
        arguments.remove(at: 1)
    }
    guard let name, let target = targets[name] else {
        let known = targets.keys.sorted().joined(separator: ", ")
        printError("usage: mdev-fuzz TARGET [libFuzzer options] [corpus directories]\ntargets: \(known)\n")
        return 2
    }
    setenv("MDEV_FUZZ_TARGET", name, 1)
    selected = target
    var count = CInt(arguments.count)
    return arguments.withUnsafeMutableBufferPointer { buffer in
        var pointer = buffer.baseAddress
        return LLVMFuzzerRunDriver(&count, &pointer) { data, size in testOneInput(data, size) }
    }
}

/// Runs one input through the selected target: the driver's callback, and what libFuzzer's own `main`
/// calls when it is the one that runs.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if selected == nil, let name = getenv("MDEV_FUZZ_TARGET").map({ String(cString: $0) }) { selected = targets[name] }
    selected?.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
