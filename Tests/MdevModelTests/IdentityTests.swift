import Foundation
import Testing

@testable import MdevModel

@Suite("Digests and derived identities")
struct IdentityTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("SHA-1 matches the FIPS 180 test vectors", arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (String(repeating: "a", count: 1000), "291e9a6c66994949b57ba5e650361e98fc36b1ba"),
    ])
    func sha1(message: String, digest: String) {
        #expect(Self.hex(SHA1.hash(Array(message.utf8))) == digest)
    }

    @Test("SHA-256 matches the FIPS 180 test vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (String(repeating: "a", count: 1000), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"),
    ])
    func sha256(message: String, digest: String) {
        #expect(Self.hex(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test("HMAC-SHA256 matches RFC 4231 test cases 1 and 6 (key longer than a block)")
    func hmac() {
        #expect(Self.hex(SHA256.hmac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Self.hex(SHA256.hmac(key: [UInt8](repeating: 0xaa, count: 131),
                                     message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("UUIDv5 matches RFC 9562 / Python's uuid5")
    func uuidV5() {
        let dns = UUID(uuidString: "6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
        #expect(UUID.nameBased(namespace: dns, name: "python.org").sysfsString == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
    }

    @Test("The host key follows systemd's app-specific id derivation, and device UUIDs derive from it")
    func hostKey() {
        let key = HostKey(machineID: UUID(uuidString: "4a5f0c2e-9b1d-47e8-a3c6-f0b2d4e6a8c1")!)
        // Expected values computed independently with Python's hmac, hashlib and uuid modules.
        #expect(key.namespace.sysfsString == "e1e875aa-bc28-464f-b1a9-5011b3e34c87")
        #expect(key.deviceUUID(parent: "0000:3b:00.0", type: "nvidia-222", slot: 0).sysfsString
            == "b8e278e3-bc6e-5944-bcb5-497019580000")
        #expect(key.deviceUUID(parent: "0000:3b:00.0", type: "nvidia-222", slot: 258).sysfsString
            == "b8e278e3-bc6e-5944-bcb5-497019580102")
        #expect(HostKey(nodeName: "node01").namespace.sysfsString == "acd7e2a8-f86d-515f-93f5-62913242a095")
        #expect(HostKey(nodeName: "node01").origin == .nodeName)
    }

    @Test("A derived UUID gives its slot back, for its own parent and type only")
    func slotRecovery() {
        let key = HostKey(nodeName: "host")
        for slot in [0, 1, 23, 255, 256, 65535] {
            let uuid = key.deviceUUID(parent: "mtty", type: "mtty-1", slot: slot)
            #expect(key.slot(of: uuid, parent: "mtty", type: "mtty-1") == slot)
            #expect(key.slot(of: uuid, parent: "mtty", type: "mtty-2") == nil)
            #expect(key.slot(of: uuid, parent: "0000:3b:00.0", type: "mtty-1") == nil)
            #expect(HostKey(nodeName: "other").slot(of: uuid, parent: "mtty", type: "mtty-1") == nil)
        }
        #expect(key.slot(of: UUID(), parent: "mtty", type: "mtty-1") == nil)
    }

    @Test("Device UUIDs differ for every parent, type and slot")
    func distinctUUIDs() {
        let key = HostKey(nodeName: "host")
        var seen: Set<UUID> = []
        for parent in ["0000:3b:00.0", "0000:3c:00.0", "mtty"] {
            for type in ["nvidia-222", "nvidia-228", "mtty-1"] {
                for slot in 0..<32 { seen.insert(key.deviceUUID(parent: parent, type: type, slot: slot)) }
            }
        }
        #expect(seen.count == 3 * 3 * 32)
        #expect(key.deviceUUID(parent: "mtty", type: "mtty-1", slot: 3) == key.deviceUUID(parent: "mtty", type: "mtty-1", slot: 3))
    }
}
