/// Writes a config and a labels file that ``ConfigParser`` and ``LabelsFileParser`` read back to the same
/// values: what the cluster agent hands the daemon. Every string is double-quoted with escapes, so no value
/// can end a line or start a key; comments in `header` have their control characters escaped.
public enum InputFileRenderer {
    /// `config` as a config file, its settings always spelled out.
    public static func config(_ config: ReconcilerConfig, header: [String] = []) -> String {
        var lines = comments(header)
        let block = config.mediatedDevices
        lines.append("mediatedDevicesConfiguration:")
        if !block.enabled { lines.append("  enabled: false") }
        lines += list("mediatedDeviceTypes", block.mediatedDeviceTypes, indent: "  ")
        if !block.nodeMediatedDeviceTypes.isEmpty {
            lines.append("  nodeMediatedDeviceTypes:")
            for entry in block.nodeMediatedDeviceTypes {
                if entry.nodeSelector.isEmpty {
                    lines.append("    - nodeSelector: {}")
                } else {
                    lines.append("    - nodeSelector:")
                    lines += entry.nodeSelector.map { "        \(quoted($0.key)): \(quoted($0.value))" }
                }
                lines += list("mediatedDeviceTypes", entry.mediatedDeviceTypes, indent: "      ")
            }
        }
        let settings = config.settings
        lines += [
            "mdevReconciler:",
            "  removeForeignDevices: \(settings.removeForeignDevices)",
            "  enableVirtualFunctions: \(settings.enableVirtualFunctions)",
            "  rebalance: \(quoted(settings.rebalance.rawValue))",
            "  manageMIG: \(settings.manageMIG)",
        ]
        return lines.map { $0 + "\n" }.joined()
    }

    /// `labels` as a labels file, one `key=value` a line in their order.
    public static func labels(_ labels: [Label], header: [String] = []) -> String {
        (comments(header) + labels.map { "\($0.key)=\($0.value)" }).map { $0 + "\n" }.joined()
    }

    private static func comments(_ header: [String]) -> [String] {
        header.map { "# " + $0.escapingControlCharacters }
    }

    private static func list(_ key: String, _ items: [String], indent: String) -> [String] {
        items.isEmpty ? ["\(indent)\(key): []"] : ["\(indent)\(key):"] + items.map { "\(indent)  - \(quoted($0))" }
    }

    /// `text` as a YAML double-quoted scalar: `\` and `"` escaped, every scalar but printable ASCII as `\u`/`\U`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case " "..."~": result.unicodeScalars.append(scalar)
            default:
                let hex = String(scalar.value, radix: 16)
                result += scalar.value <= 0xFFFF
                    ? "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    : "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
            }
        }
        return result + "\""
    }
}
