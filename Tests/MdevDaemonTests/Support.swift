import Foundation
import Logging
import MdevSysfs
import MdevModel
import Synchronization
import Testing

@testable import MdevDaemon

struct DeadlineExceeded: Error {}

/// Items recorded from any thread, which tests wait for without sleeping: a waiter is resumed by the
/// recording itself, and only a real-time deadline (a guard against hangs) ends the wait otherwise.
final class Recorder<Item: Sendable>: Sendable {
    private struct Waiter {
        var id: Int
        var start: Int
        var predicate: @Sendable (Item) -> Bool
        var continuation: CheckedContinuation<Item?, Never>
    }

    private struct State {
        var items: [Item] = []
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state = Mutex(State())

    func record(_ item: Item) {
        let resumed = state.withLock { state in
            state.items.append(item)
            let index = state.items.count - 1
            let matching = state.waiters.filter { index >= $0.start && $0.predicate(item) }
            state.waiters.removeAll { waiter in matching.contains { $0.id == waiter.id } }
            return matching
        }
        for waiter in resumed { waiter.continuation.resume(returning: item) }
    }

    var all: [Item] { state.withLock { $0.items } }
    var count: Int { state.withLock { $0.items.count } }

    /// The first item at index `start` or later that matches, recorded already or in the future; fails
    /// after `seconds` of real time.
    func first(from start: Int, within seconds: Double = 20, where predicate: @escaping @Sendable (Item) -> Bool) async throws -> Item {
        let found: Item? = await withCheckedContinuation { continuation in
            let id: Int? = state.withLock { state in
                if let item = state.items.dropFirst(start).first(where: predicate) {
                    continuation.resume(returning: item)
                    return nil
                }
                state.nextID += 1
                state.waiters.append(Waiter(id: state.nextID, start: start, predicate: predicate, continuation: continuation))
                return state.nextID
            }
            guard let id else { return }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                self.expire(id)
            }
        }
        guard let found else { throw DeadlineExceeded() }
        return found
    }

    private func expire(_ id: Int) {
        let waiter = state.withLock { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
        }
        waiter?.continuation.resume(returning: nil)
    }
}

/// Records sd_notify messages as systemd would receive them.
final class RecordingNotifier: ServiceNotifier {
    let messages = Recorder<String>()
    let watchdogInterval: Duration?

    init(watchdogInterval: Duration? = nil) {
        self.watchdogInterval = watchdogInterval
    }

    func ready(status: String) { messages.record("READY=1\nSTATUS=\(status)") }
    func reloading() { messages.record("RELOADING=1") }
    func status(_ text: String) { messages.record("STATUS=\(text)") }
    func stopping() { messages.record("STOPPING=1") }
    func watchdog() { messages.record("WATCHDOG=1") }
}

/// A swift-log handler that records every entry.
struct RecordingLogHandler: LogHandler {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        var messageID: String? { metadata[JournalField.messageID] }
    }

    let entries: Recorder<Entry>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        entries.record(Entry(level: event.level, message: "\(event.message)", metadata: fields))
    }
}
