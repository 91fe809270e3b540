#if canImport(Glibc)
    import Glibc
#endif
import FoundationEssentials
import MdevModel

/// Reads who this host is: its node name and the key its device UUIDs derive from.
public enum HostIdentity {
    /// The system hostname, lower-cased, as Kubernetes names a node by default.
    public static func systemNodeName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
    }

    /// The host key, from the machine id file, with a warning when it had to fall back to the node name.
    ///
    /// `/etc/machine-id` holds 32 hex digits. Where it is missing, empty or `uninitialized` (some
    /// containers, first boot), the key derives from the node name instead; UUIDs then stay stable only
    /// as long as the node name does.
    public static func hostKey(machineIDFile: String, nodeName: String) -> (key: HostKey, warning: String?) {
        let text: String
        do {
            text = try FileSystem.readText(machineIDFile).trimmingSpaces()
        } catch {
            return (HostKey(nodeName: nodeName),
                    "no machine id (\(error)); device UUIDs derive from the node name \(nodeName.quoted) instead")
        }
        guard let machineID = parseMachineID(text) else {
            return (HostKey(nodeName: nodeName),
                    "\(machineIDFile) holds no valid machine id; device UUIDs derive from the node name \(nodeName.quoted) instead")
        }
        return (HostKey(machineID: machineID), nil)
    }

    /// The machine id in `text`: 32 hexadecimal digits, not all zero.
    static func parseMachineID(_ text: String) -> UUID? {
        guard text.count == 32, text.allSatisfy(\.isHexDigit) else { return nil }
        var digits = Array(text)
        for position in [8, 13, 18, 23] { digits.insert("-", at: position) }
        guard let uuid = UUID(uuidString: String(digits)), uuid.bytes.contains(where: { $0 != 0 }) else { return nil }
        return uuid
    }
}
