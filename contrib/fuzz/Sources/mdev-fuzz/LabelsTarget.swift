import MdevModel

/// The labels file. Labels that parse render as `key=value` lines that parse to the same labels; an
/// error is one line, at a position inside the input.
let labelsTarget = FuzzTarget(name: "labels") { bytes in
    guard let text = text(bytes) else { return }
    let file = "labels"
    do {
        let labels = try LabelsFileParser.parse(text, file: file)
        let rendered = labels.map { "\($0.key)=\($0.value)\n" }.joined()
        do {
            invariant(try LabelsFileParser.parse(rendered, file: file) == labels, "re-rendered labels differ:\n\(rendered)")
        } catch {
            invariant(false, "re-rendered labels do not parse (\(error)):\n\(rendered)")
        }
    } catch let error as InputError {
        checkError(error, file: file, text: text, yamlLines: false)
    } catch {
        invariant(false, "an error that is no InputError: \(error)")
    }
}
