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
        let rendered = InputFileRenderer.config(result.config)
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
