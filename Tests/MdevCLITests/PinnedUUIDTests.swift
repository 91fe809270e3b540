import Foundation
import Testing

/// Derived UUIDs are a contract with the host: the devices this program made must stay its own across every
/// refactor and upgrade. These are the UUIDs `plan` gives on the example hosts, pinned; a change here turns
/// every device made by an earlier version into a foreign one.
@Suite("Derived UUIDs are pinned")
struct PinnedUUIDTests {
    @Test("plan gives the pinned first UUID and count on every parent of every example host", arguments: [
        ("three-t4", "kubevirt-docs-three-t4", [
            "0000:3b:00.0: b8e278e3-bc6e-5944-bcb5-497019580000 ×16", "0000:3c:00.0: 968ecc9e-29f0-52b7-a062-751058290000 ×2",
            "0000:3d:00.0: d90e412b-df1e-54d0-b402-a0df0ef80000 ×16",
        ]),
        ("t4-gvtg", "kubevirt-test-layout", [
            "0000:00:02.0: 8ba194e9-db52-5b73-afae-bc630b9e0000 ×4", "0000:3b:00.0: 8a76e88f-77cd-5edc-83ed-03d439b90000 ×8",
            "0000:3c:00.0: 02e41c5c-bc97-58c7-a374-7c37165d0000 ×8", "0000:3d:00.0: 0a19f4b6-5bf0-5b97-8640-8c9057450000 ×1",
        ]),
        ("mtty", "mtty", ["mtty: 16610453-9484-59ee-9804-bfe2197d0000 ×12"]),
        ("a16-mdev-mode", "nvidia-a16-mdev-mode", [
            "0000:81:00.4: 628a12c8-79dd-58fc-a062-050646660000 ×1", "0000:81:00.5: 08fd59a8-11e9-509c-9be0-7059520d0000 ×1",
        ]),
        ("l40s-vendor-mode", "nvidia-l40s-vendor-mode", [
            "0000:3d:00.4: 4fa6ec45-f32f-5403-96c7-a9d8ddb30000 ×1", "0000:3d:00.5: 0b63e7a1-fc76-5e8c-a4eb-858aac1d0000 ×1",
            "0000:3d:00.6: 16b7868e-f728-5ec5-8626-4049a0ac0000 ×1", "0000:3d:00.7: 5e57f7fd-5dc0-5d76-a2d4-5606b4820000 ×1",
            "0000:3d:01.0: 2e407da3-7be1-5eb5-8586-7bd957ca0000 ×1", "0000:3d:01.1: b6dab99b-222b-5814-a779-47a5f3100000 ×1",
            "0000:3d:01.2: 1458fe1d-8c4e-554d-bc2c-0b52a68d0000 ×1", "0000:3d:01.3: ff9ed51b-013e-5d43-9708-699e05480000 ×1",
            "0000:3d:01.4: e1c11485-29b9-5bf5-ab44-f3ff03e40000 ×1", "0000:3d:01.5: 600779f8-a48c-5044-a8b6-5cfdf9260000 ×1",
            "0000:3d:01.6: 3f07d00e-5390-5eaf-9fb9-8980a17d0000 ×1", "0000:3d:01.7: 36d172b9-1c2b-511a-8b3d-9d3418060000 ×1",
            "0000:4e:00.4: 953f70b1-df8f-553e-859d-1792203d0000 ×1",
        ]),
    ])
    func pinned(host: String, config: String, expected: [String]) throws {
        let result = try runCLI([
            "plan", "--format", "json", "--config", "contrib/examples/\(config).yaml", "--host-root", "contrib/example-hosts/\(host)",
            "--node-name", "node01",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let plan = try JSONDecoder().decode(CommandLineTests.PlanJSON.self, from: Data(result.stdout.utf8))
        let firsts = plan.parents.filter { !$0.create.isEmpty }.map { "\($0.parent): \($0.create[0].uuid) ×\($0.create.count)" }
        #expect(firsts == expected)
        // Slots count up from 0 in the last two bytes.
        for parent in plan.parents {
            #expect(parent.create.enumerated().allSatisfy { index, device in device.uuid.hasSuffix(String(format: "%04x", index)) })
        }
    }
}
