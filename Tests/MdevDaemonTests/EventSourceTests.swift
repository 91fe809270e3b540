import Dispatch
import Foundation
import Glibc
import MdevTestSupport
import MdevSysfs
import Testing

@testable import MdevDaemon

@Suite("inotify, for real, in temporary directories", .timeLimit(.minutes(1)))
struct FileChangeWatcherTests {
    /// A watcher on `config.yaml` and `labels` in a new directory, and the changes it reports.
    func watching() throws -> (directory: String, watcher: FileChangeWatcher, changes: Recorder<Int>) {
        let directory = temporaryPath("mdev-watch-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "a: 1\n".write(toFile: directory + "/config.yaml", atomically: false, encoding: .utf8)
        let watcher = try FileChangeWatcher(files: [directory + "/config.yaml", directory + "/labels"], queue: DispatchQueue(label: "test.watch"))
        let changes = Recorder<Int>()
        watcher.start { changes.record(1) }
        return (directory, watcher, changes)
    }

    func expectChange(_ changes: Recorder<Int>, after action: () throws -> Void) async throws {
        let mark = changes.count
        try action()
        _ = try await changes.first(from: mark) { _ in true }
    }

    @Test("Writing the file in place is reported when the writer closes it")
    func inPlace() async throws {
        let (directory, watcher, changes) = try watching()
        defer { watcher.stop(); try? FileManager.default.removeItem(atPath: directory) }
        try await expectChange(changes) { try "a: 2\n".write(toFile: directory + "/config.yaml", atomically: false, encoding: .utf8) }
    }

    @Test("An editor's rename over the file is reported")
    func renameOver() async throws {
        let (directory, watcher, changes) = try watching()
        defer { watcher.stop(); try? FileManager.default.removeItem(atPath: directory) }
        try "a: 3\n".write(toFile: directory + "/.config.yaml.swp", atomically: false, encoding: .utf8)
        // The temporary file's own writes are not the config's.
        try await expectChange(changes) { #expect(rename(directory + "/.config.yaml.swp", directory + "/config.yaml") == 0) }
    }

    @Test("Deleting and recreating the file are both reported; the labels file too")
    func deleteAndRecreate() async throws {
        let (directory, watcher, changes) = try watching()
        defer { watcher.stop(); try? FileManager.default.removeItem(atPath: directory) }
        try await expectChange(changes) { try FileManager.default.removeItem(atPath: directory + "/config.yaml") }
        try await expectChange(changes) { try "a: 4\n".write(toFile: directory + "/config.yaml", atomically: false, encoding: .utf8) }
        try await expectChange(changes) { try "zone=a\n".write(toFile: directory + "/labels", atomically: false, encoding: .utf8) }
    }

    @Test("A Kubernetes ConfigMap update (a ..data symlink swapped by rename) is reported")
    func configMapSwap() async throws {
        let directory = temporaryPath("mdev-watch-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory + "/..2026_11_26_01", withIntermediateDirectories: true)
        try "a: 1\n".write(toFile: directory + "/..2026_11_26_01/config.yaml", atomically: false, encoding: .utf8)
        try manager.createSymbolicLink(atPath: directory + "/..data", withDestinationPath: "..2026_11_26_01")
        try manager.createSymbolicLink(atPath: directory + "/config.yaml", withDestinationPath: "..data/config.yaml")
        let watcher = try FileChangeWatcher(files: [directory + "/config.yaml"], queue: DispatchQueue(label: "test.watch"))
        defer { watcher.stop() }
        let changes = Recorder<Int>()
        watcher.start { changes.record(1) }
        // What the kubelet does: a new timestamped directory, a ..data_tmp link to it, renamed over ..data.
        try manager.createDirectory(atPath: directory + "/..2026_11_26_02", withIntermediateDirectories: true)
        try "a: 2\n".write(toFile: directory + "/..2026_11_26_02/config.yaml", atomically: false, encoding: .utf8)
        try manager.createSymbolicLink(atPath: directory + "/..data_tmp", withDestinationPath: "..2026_11_26_02")
        try await expectChange(changes) { #expect(rename(directory + "/..data_tmp", directory + "/..data") == 0) }
        #expect(try FileSystem.readText(directory + "/config.yaml") == "a: 2\n")
    }

    @Test("Which inotify events count", arguments: [
        (UInt32(IN_CLOSE_WRITE), "config.yaml", false, true),
        (UInt32(IN_MOVED_TO), "config.yaml", false, true),
        (UInt32(IN_DELETE), "config.yaml", false, true),
        (UInt32(IN_CREATE), "config.yaml", false, false),  // a new regular file: wait for its close
        (UInt32(IN_CREATE), "config.yaml", true, true),  // a new symbolic link: complete at once
        (UInt32(IN_CLOSE_WRITE), "other.yaml", false, false),
        (UInt32(IN_MOVED_TO), "..data", false, true),
        (UInt32(IN_DELETE), "..data", false, false),
        (UInt32(IN_Q_OVERFLOW), "", false, true),
        (UInt32(IN_DELETE_SELF), "", false, true),
    ])
    func relevance(mask: UInt32, name: String, isLink: Bool, relevant: Bool) {
        #expect(FileChangeWatcher.isRelevant(mask: mask, name: name, watchedNames: ["config.yaml"]) { isLink } == relevant)
    }

    @Test("A directory created after start (two levels) is watched once it exists; a file written in it is reported")
    func directoryCreatedLater() async throws {
        let directory = temporaryPath("mdev-watch-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let watcher = try FileChangeWatcher(files: [directory + "/a/b/labels"], queue: DispatchQueue(label: "test.watch"))
        defer { watcher.stop() }
        let changes = Recorder<Int>()
        watcher.start { changes.record(1) }
        // Creating the directories is reported once the wanted one exists (it may hold the file already).
        try await expectChange(changes) { try FileManager.default.createDirectory(atPath: directory + "/a/b", withIntermediateDirectories: true) }
        try await expectChange(changes) { try "zone=a\n".write(toFile: directory + "/a/b/labels", atomically: false, encoding: .utf8) }
    }

    @Test("A watched directory removed and created again is watched again")
    func directoryRecreated() async throws {
        let (directory, watcher, changes) = try watching()
        defer { watcher.stop(); try? FileManager.default.removeItem(atPath: directory) }
        try await expectChange(changes) { try FileManager.default.removeItem(atPath: directory) }
        try await expectChange(changes) { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try await expectChange(changes) { try "a: 5\n".write(toFile: directory + "/config.yaml", atomically: false, encoding: .utf8) }
    }
}

/// Whether this process may make the kernel emit a uevent (root, with /sys writable): where it may not, the
/// suite is reported skipped, never passed.
let canEmitUevents = access("/sys/devices/virtual/mem/null/uevent", W_OK) == 0

@Suite("The kernel's uevents through libudev, for real", .timeLimit(.minutes(1)),
       .enabled(if: canEmitUevents, "needs root and a writable /sys to make the kernel emit uevents"))
struct UdevMonitorTests {
    @Test("A uevent the kernel emits (writing 'change' to a device's uevent file) arrives with its fields")
    func kernelEvent() async throws {
        let monitor = try UdevMonitor(group: "kernel", udevControl: "/nonexistent", queue: DispatchQueue(label: "test.udev"))
        let events = Recorder<DeviceEvent>()
        monitor.start { output in
            if case .event(let event) = output { events.record(event) }
        }
        defer { monitor.stop() }
        // /dev/null's device: present on every Linux system. The kernel emits the uevent; no udevd is needed.
        let path = "/sys/devices/virtual/mem/null/uevent"
        // Receiving is enabled in init: the socket holds the event until the source reads it.
        try "change".write(toFile: path, atomically: false, encoding: .utf8)
        let event = try await events.first(from: 0) { $0.sysname == "null" && $0.action == "change" }
        #expect(event.subsystem == "mem")
        #expect(event.devpath == "/devices/virtual/mem/null")
        #expect(event.properties["ACTION"] == "change")
        #expect(monitor.group == "kernel")
    }

    @Test("Events beyond the socket's buffer are lost (ENOBUFS): the monitor says so, and that asks for a full rescan")
    func lostEvents() async throws {
        // The smallest buffer the kernel allows, and events sent before the monitor reads any.
        let monitor = try UdevMonitor(group: "kernel", udevControl: "/nonexistent", receiveBufferSize: 1, queue: DispatchQueue(label: "test.udev"))
        for _ in 0..<200 { try "change".write(toFile: "/sys/devices/virtual/mem/null/uevent", atomically: false, encoding: .utf8) }
        let outputs = Recorder<Bool>()
        monitor.start { output in
            if case .lost = output { outputs.record(true) }
            #expect(UeventRouter.input(for: output, knownParents: []) == (output.isLost ? .eventsLost : nil))
        }
        defer { monitor.stop() }
        _ = try await outputs.first(from: 0) { $0 }
    }
}

// Signals are tested on the built binary (DaemonCommandTests, DaemonBehaviourTests: SIGHUP, SIGTERM, SIGINT), in a
// process of their own: a signal sent to the test process, and the default actions a watcher gives back when
// it stops, would reach every test running beside it.

extension UdevMonitor.Output {
    var isLost: Bool {
        if case .lost = self { return true }
        return false
    }
}

@Suite("The uevent router")
struct UeventRouterTests {
    @Test("A name that is no directory entry (empty, '.', '..') is never taken for a parent")
    func namesThatAreNoEntries() {
        let known: Set<String> = ["0000:3b:00.0"]
        #expect(UeventRouter.parents(touchedBy: DeviceEvent(action: "add", subsystem: "mdev", devpath: "/devices/0000:3b:00.0/uuid"), knownParents: known) == ["0000:3b:00.0"])
        for devpath in ["/devices/../uuid", "/devices/./uuid", "uuid"] {
            #expect(UeventRouter.parents(touchedBy: DeviceEvent(action: "add", subsystem: "mdev", devpath: devpath), knownParents: known).isEmpty, "\(devpath)")
        }
        for sysname in ["", ".", ".."] {
            let event = DeviceEvent(action: "change", subsystem: "pci", devpath: "/devices/x", sysname: sysname, properties: ["MDEV_STATE": "registered"])
            #expect(UeventRouter.input(for: event, knownParents: known) == nil, "\(sysname)")
        }
    }
}
