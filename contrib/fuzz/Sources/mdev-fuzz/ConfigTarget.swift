import MdevModel

/// The config file (both schemas, a whole CR, this program's settings). A config that parses renders to
/// YAML that parses to the same value; an error is one line, at a position inside the input.
let configTarget = FuzzTarget(name: "config") { bytes in
    guard let text = text(bytes) else { return }
    let file = "fuzz.yaml"
    do {
        let result = try ConfigParser.parse(text, file: file)
        for warning in result.warnings {
            invariant(isInside(warning.location, of: text), "warning at \(warning.location) is outside the input")
            invariant(isOneCleanLine(warning.description), "warning is not one clean line")
        }
        let rendered = ConfigRenderer.yaml(result.config)
        do {
            let again = try ConfigParser.parse(rendered, file: file)
            invariant(again.config == result.config, "re-rendered config parses to another value:\n\(rendered)")
        } catch {
            invariant(false, "re-rendered config does not parse (\(error)):\n\(rendered)")
        }
    } catch let error as InputError {
        checkError(error, file: file, text: text)
    } catch {
        invariant(false, "an error that is no InputError: \(error)")
    }
}

/// Writes a config as YAML in flow style, every string double-quoted: the re-rendering the config target
/// checks parses back to the same value.
enum ConfigRenderer {
    static func yaml(_ config: ReconcilerConfig) -> String {
        let block = config.mediatedDevices
        let nodes = block.nodeMediatedDeviceTypes.map { node in
            let selector = node.nodeSelector.map { "\(quoted($0.key)): \(quoted($0.value))" }.joined(separator: ", ")
            return "{nodeSelector: {\(selector)}, mediatedDeviceTypes: \(list(node.mediatedDeviceTypes))}"
        }
        return """
            mediatedDevicesConfiguration:
              enabled: \(block.enabled)
              mediatedDeviceTypes: \(list(block.mediatedDeviceTypes))
              nodeMediatedDeviceTypes: [\(nodes.joined(separator: ", "))]
            mdevReconciler:
              removeForeignDevices: \(config.settings.removeForeignDevices)
              enableVirtualFunctions: \(config.settings.enableVirtualFunctions)

            """
    }

    static func list(_ items: [String]) -> String {
        "[\(items.map(quoted).joined(separator: ", "))]"
    }

    /// A YAML double-quoted scalar: `\` and `"` escaped, every other non-printable scalar as `\u`/`\U`.
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
