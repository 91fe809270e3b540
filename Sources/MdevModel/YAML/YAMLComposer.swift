import CYAML

/// Composes one YAML document from libyaml's parser events into ``YAMLNode``s: tags resolved, aliases
/// resolved to their anchored node, a key given twice in one mapping refused at its repetition, nesting
/// bounded (libyaml's parser keeps its own stacks; this keeps the tree and every walk of it shallow).
enum YAMLComposer {
    /// The deepest nesting of mappings and lists a document may have.
    static let maximumDepth = 1000

    /// The document in `text`, or nil for a text that holds none (empty, only comments).
    static func compose(_ text: String) throws(YAMLError) -> YAMLNode? {
        let bytes = Array(text.utf8)
        let result: Result<YAMLNode?, YAMLError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else {
                return .failure(YAMLError(position: .mark(YAMLMark(line: 1, column: 1)), message: "invalid YAML: out of memory"))
            }
            defer { yaml_parser_delete(&parser) }
            // An empty buffer needs a valid pointer all the same.
            var empty: UInt8 = 0
            if let base = buffer.baseAddress {
                yaml_parser_set_input_string(&parser, base, buffer.count)
            } else {
                yaml_parser_set_input_string(&parser, &empty, 0)
            }
            var builder = Builder()
            do {
                while true {
                    var event = yaml_event_t()
                    guard yaml_parser_parse(&parser, &event) == 1 else { throw parserError(parser) }
                    defer { yaml_event_delete(&event) }
                    if try builder.take(event) { break }
                }
                return .success(builder.root)
            } catch let error as YAMLError {
                return .failure(error)
            } catch {
                return .failure(YAMLError(position: .mark(YAMLMark(line: 1, column: 1)), message: "invalid YAML: \(error)"))
            }
        }
        return try result.get()
    }

    private static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private static func parserError(_ parser: yaml_parser_t) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        switch parser.error {
        case YAML_READER_ERROR:
            return YAMLError(position: .byteOffset(Int(parser.problem_offset)), message: "cannot read the file: \(problem)")
        case YAML_MEMORY_ERROR:
            return YAMLError(position: .mark(YAMLMark(line: 1, column: 1)), message: "invalid YAML: out of memory")
        default:
            let context = parser.context.map { String(cString: $0) }
            let contextMark = mark(parser.context_mark)
            let contextText = context.map { " (\($0) at line \(contextMark.line), column \(contextMark.column))" } ?? ""
            return YAMLError(position: .mark(mark(parser.problem_mark)), message: "invalid YAML: \(problem)\(contextText)")
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    /// Builds the tree from events, with an explicit stack of the collections still open.
    private struct Builder {
        private enum Open {
            case sequence(items: [YAMLNode])
            case mapping(entries: [(key: YAMLNode, value: YAMLNode)], key: YAMLNode?, keys: [KeyIdentity: YAMLMark])
        }

        private struct Frame {
            var open: Open
            var tag: YAMLTag
            var mark: YAMLMark
            var anchor: String?
        }

        /// Two keys are the same key when their tags and texts are.
        private struct KeyIdentity: Hashable {
            var tag: YAMLTag
            var text: String
        }

        private(set) var root: YAMLNode?
        private var stack: [Frame] = []
        private var anchors: [String: YAMLNode] = [:]
        private var documents = 0

        /// Takes one event; true at the end of the stream.
        mutating func take(_ event: yaml_event_t) throws(YAMLError) -> Bool {
            let start = YAMLComposer.mark(event.start_mark)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw YAMLError(position: .mark(start), message: "invalid YAML: the file holds more than one document; expected one")
                }
            case YAML_ALIAS_EVENT:
                let name = YAMLComposer.string(event.data.alias.anchor) ?? ""
                guard let node = anchors[name] else {
                    throw YAMLError(position: .mark(start), message: "invalid YAML: found undefined alias \(name.quoted)")
                }
                try add(YAMLNode(content: node.content, tag: node.tag, mark: start))
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: Int(scalar.length)), as: UTF8.self)
                let style: YAMLNode.ScalarStyle = switch scalar.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: .literal
                case YAML_FOLDED_SCALAR_STYLE: .folded
                default: .plain
                }
                let tag: YAMLTag
                if let explicit = YAMLComposer.string(scalar.tag), explicit != "!" {
                    tag = YAMLTag(rawValue: explicit)
                } else if scalar.tag == nil && scalar.plain_implicit == 1 && style == .plain {
                    tag = YAMLTag.resolving(plain: text)
                } else {
                    tag = .str
                }
                let node = YAMLNode(content: .scalar(text, style), tag: tag, mark: start)
                try add(node)
                register(YAMLComposer.string(scalar.anchor), node)
            case YAML_SEQUENCE_START_EVENT:
                let data = event.data.sequence_start
                try open(.sequence(items: []), tag: data.tag, default: .seq, anchor: data.anchor, at: start)
            case YAML_MAPPING_START_EVENT:
                let data = event.data.mapping_start
                try open(.mapping(entries: [], key: nil, keys: [:]), tag: data.tag, default: .map, anchor: data.anchor, at: start)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { break }
                let content: YAMLNode.Content = switch frame.open {
                case .sequence(let items): .sequence(items)
                case .mapping(let entries, _, _): .mapping(entries)
                }
                let node = YAMLNode(content: content, tag: frame.tag, mark: frame.mark)
                try add(node)
                register(frame.anchor, node)
            default:
                break  // stream start, document end
            }
            return false
        }

        private mutating func open(
            _ open: Open, tag: UnsafeMutablePointer<yaml_char_t>?, default defaultTag: YAMLTag,
            anchor: UnsafeMutablePointer<yaml_char_t>?, at mark: YAMLMark
        ) throws(YAMLError) {
            if stack.count >= YAMLComposer.maximumDepth {
                let outer = stack[0].mark
                throw YAMLError(
                    position: .mark(outer),
                    message: "invalid YAML: the file nests mappings and lists too deeply (more than \(YAMLComposer.maximumDepth) levels) (while parsing at line \(outer.line), column \(outer.column))")
            }
            let explicit = YAMLComposer.string(tag).flatMap { $0 == "!" ? nil : YAMLTag(rawValue: $0) }
            stack.append(Frame(open: open, tag: explicit ?? defaultTag, mark: mark, anchor: YAMLComposer.string(anchor)))
        }

        private mutating func register(_ anchor: String?, _ node: YAMLNode) {
            if let anchor { anchors[anchor] = node }
        }

        /// Adds a finished node to the collection open around it, or makes it the document.
        private mutating func add(_ node: YAMLNode) throws(YAMLError) {
            guard let last = stack.indices.last else {
                root = node
                return
            }
            switch stack[last].open {
            case .sequence(var items):
                stack[last].open = .sequence(items: [])  // keeps `items` uniquely referenced
                items.append(node)
                stack[last].open = .sequence(items: items)
            case .mapping(var entries, let key, var keys):
                stack[last].open = .mapping(entries: [], key: nil, keys: [:])
                if let key {
                    entries.append((key, node))
                    stack[last].open = .mapping(entries: entries, key: nil, keys: keys)
                    return
                }
                if case .scalar(let text, _) = node.content {
                    let identity = KeyIdentity(tag: node.tag, text: text)
                    if let first = keys[identity] {
                        throw YAMLError(
                            position: .mark(node.mark),
                            message: "\(text.quoted) appears more than once in this mapping (first at line \(first.line), column \(first.column))")
                    }
                    keys[identity] = node.mark
                }
                stack[last].open = .mapping(entries: entries, key: node, keys: keys)
            }
        }
    }
}
