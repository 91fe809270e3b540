import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import SystemPackage
import Testing

@testable import MdevDaemon

@Suite("The metrics file's format")
struct MetricsTextTests {
    @Test("Label values are escaped, whole numbers have no fraction, histogram buckets are cumulative")
    func format() {
        var text = MetricsText()
        text.family("x_total", .counter, help: "A \\ help\nline.", [.init([("a", "q\"b\\c\nd")], 3)])
        var histogram = Histogram(bounds: [1, 0.5])
        for value in [0.2, 0.7, 0.9, 4] { histogram.observe(value) }
        text.histogram("d_seconds", help: "D.", histogram)
        #expect(text.text == """
            # HELP x_total A \\\\ help\\nline.
            # TYPE x_total counter
            x_total{a="q\\"b\\\\c\\nd"} 3
            # HELP d_seconds D.
            # TYPE d_seconds histogram
            d_seconds_bucket{le="0.5"} 1
            d_seconds_bucket{le="1"} 3
            d_seconds_bucket{le="+Inf"} 4
            d_seconds_sum 5.8
            d_seconds_count 4

            """)
    }

    @Test("promtool accepts a whole file, and rejects one with a counter that lacks _total (the check can fail)")
    func promtool() throws {
        var metrics = HostMetrics(version: "1.2.3", running: true, counters: PassCounters(triggers: PassTrigger.allCases))
        let kernel = ExampleHosts.threeT4().kernel
        metrics.devices = HostDevice.list(try kernel.readInventory().inventory, hostKey: HostKey(nodeName: "node01"))
        let result = try ExternalChecker.promtool(metrics.text)
        #expect(result.passed, "\(result.output)")
        let broken = try ExternalChecker.promtool(metrics.text.replacingOccurrences(of: "passes_total", with: "passes"))
        #expect(!broken.passed)
    }
}

/// The values after a known sequence, through the whole daemon: a start whose first write fails with ENOSPC,
/// an event that converges, then a config change blocked by a device in use.
@Suite("The daemon's metrics", .timeLimit(.minutes(1)))
struct MetricsDaemonTests {
    let docsTypes = ["nvidia-222", "nvidia-228", "nvidia-105", "nvidia-108"]

    func samples(_ daemon: DaemonHarness) throws -> [String: Double] {
        let last = try #require(daemon.metrics.all.last)
        let check = try ExternalChecker.promtool(last.text)
        #expect(check.passed, "\(check.output)")
        return prometheusSamples(last.text)
    }

    @Test("ENOSPC, convergence and an in-use block are counted as they happened")
    func knownSequence() async throws {
        let kernel = ExampleHosts.threeT4().kernel
        let daemon = DaemonHarness(kernel: kernel, types: docsTypes, recordMetrics: true, wrapHost: { FaultyHost($0, fault: .errno(.noSpace), at: 0) })
        try await daemon.start()
        var values = try samples(daemon)
        #expect(daemon.metrics.count == 1)
        #expect(values[#"mdev_reconciler_write_failures_total{parent="0000:3b:00.0",errno="ENOSPC"}"#] == 1)
        #expect(values[#"mdev_reconciler_passes_total{trigger="start"}"#] == 1)
        #expect(values[#"mdev_reconciler_passes_total{trigger="event"}"#] == 0)
        #expect(values["mdev_reconciler_last_converged_timestamp_seconds"] == nil)
        #expect(values[#"mdev_reconciler_devices{parent="0000:3c:00.0",card="0000:3c:00.0",type="nvidia-228",owner="ours",in_use="false"}"#] == 2)
        #expect(values[#"mdev_reconciler_wanted_devices{parent="0000:3b:00.0",card="0000:3b:00.0",type="nvidia-222"}"#] == 16)
        #expect(values["mdev_reconciler_build_info{version=\"test\"}"] == 1)
        #expect(values["mdev_reconciler_pass_duration_seconds_count"] == 1)

        // The card's next event: its 16 devices are made, the host converges.
        let before = Date().timeIntervalSince1970.rounded(.down)
        try await daemon.pass {
            await daemon.reconciler.receive(.parentsTouched(["0000:3b:00.0"]))
            await daemon.clock.advance(by: .milliseconds(101))
        }
        values = try samples(daemon)
        #expect(values[#"mdev_reconciler_passes_total{trigger="event"}"#] == 1)
        #expect(values[#"mdev_reconciler_write_failures_total{parent="0000:3b:00.0",errno="ENOSPC"}"#] == 1)
        #expect(values[#"mdev_reconciler_devices{parent="0000:3b:00.0",card="0000:3b:00.0",type="nvidia-222",owner="ours",in_use="false"}"#] == 16)
        #expect(values[#"mdev_reconciler_free_devices{type="nvidia-222",type_name="GRID T4-1B"}"#] == 32)
        #expect(try #require(values["mdev_reconciler_last_converged_timestamp_seconds"]) >= before)
        #expect(values["mdev_reconciler_pass_duration_seconds_count"] == 2)

        // A VM holds one 228 device; the list changes to 222 only: that card is blocked by it.
        let held = try #require(kernel.devices.first { $0.type == "nvidia-228" })
        kernel.setHolders([DeviceHolder(pid: 4242, command: "qemu-system-x86")], of: held.uuid)
        daemon.nextConfiguration.value = .success(DaemonHarness.configuration(["nvidia-222"]))
        try await daemon.pass {
            await daemon.reconciler.receive(.configChanged)
            await daemon.clock.advance(by: .milliseconds(101))
        }
        values = try samples(daemon)
        #expect(values[#"mdev_reconciler_passes_total{trigger="config_change"}"#] == 1)
        #expect(values["mdev_reconciler_config_generation"] == 2)
        #expect(values[#"mdev_reconciler_blocked_parents{reason="in_use"}"#] == 1)
        #expect(values[#"mdev_reconciler_devices{parent="0000:3c:00.0",card="0000:3c:00.0",type="nvidia-228",owner="ours",in_use="true"}"#] == 1)
        #expect(values[#"mdev_reconciler_free_devices{type="nvidia-228",type_name="GRID T4-8A"}"#] == nil)
        #expect(values[#"mdev_reconciler_wanted_devices{parent="0000:3c:00.0",card="0000:3c:00.0",type="nvidia-222"}"#] != nil)
        #expect(values["mdev_reconciler_config_load_failed"] == 0)

        // A config that does not load: flagged, the generation stays.
        daemon.nextConfiguration.value = .failure(InputError(SourceLocation(file: "config.yaml", line: 1, column: 1), field: "mediatedDevicesConfiguration", "broken"))
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        values = try samples(daemon)
        #expect(values["mdev_reconciler_config_load_failed"] == 1)
        #expect(values["mdev_reconciler_config_generation"] == 2)
        #expect(values[#"mdev_reconciler_passes_total{trigger="reload"}"#] == 1)
        try await daemon.stop()
    }
}
