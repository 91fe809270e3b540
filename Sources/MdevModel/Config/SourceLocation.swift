/// A position in an input file, 1-based, for messages of the form `FILE:LINE:COLUMN`.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    /// The position of the byte at `offset` in `bytes` (UTF-8): lines end as YAML ends them (LF, CR, CR LF,
    /// NEL, LS, PS), columns count Unicode scalars, as libyaml counts them.
    public init(file: String, byteOffset offset: Int, in bytes: some Collection<UInt8>) {
        var line = 1, column = 1
        var previous: UInt8 = 0, beforePrevious: UInt8 = 0
        for byte in bytes.prefix(max(0, offset)) {
            let isContinuation = byte & 0xC0 == 0x80
            let endsNEL = previous == 0xC2 && byte == 0x85
            let endsLSorPS = beforePrevious == 0xE2 && previous == 0x80 && (byte == 0xA8 || byte == 0xA9)
            if byte == 0x0A && previous == 0x0D {
                // The LF of a CR LF: the CR began the line already.
            } else if byte == 0x0A || byte == 0x0D || endsNEL || endsLSorPS {
                line += 1
                column = 1
            } else if !isContinuation {
                column += 1
            }
            if endsNEL || endsLSorPS { column = 1 }
            beforePrevious = previous
            previous = byte
        }
        self.init(file: file, line: line, column: column)
    }
}

/// A problem found in an input file: where, in which field, and what.
///
/// Its text is one line, `FILE:LINE:COLUMN: FIELD: MESSAGE`, the shape compilers use, so editors can jump to it.
public struct InputError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// The field's path (`mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].nodeSelector`), or the
    /// line's key for a labels file; empty when the problem concerns the whole file.
    public var field: String
    public var message: String

    public init(_ location: SourceLocation, field: String, _ message: String) {
        self.location = location
        self.field = field
        self.message = message
    }

    /// One line: control characters in the field or message (a key from the file) are escaped.
    public var description: String {
        let line = field.isEmpty ? "\(location): \(message)" : "\(location): \(field): \(message)"
        return line.escapingControlCharacters
    }
}

/// Where a value is in its file, and its field path: what a later warning about it names.
public struct FieldPosition: Sendable, Hashable {
    public var location: SourceLocation
    public var field: String

    public init(location: SourceLocation, field: String) {
        self.location = location
        self.field = field
    }

    public func warning(_ message: String) -> InputWarning {
        InputWarning(location: location, field: field, message: message)
    }
}

/// A warning about an input file that does not stop it from being used (a deprecated spelling).
public struct InputWarning: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var field: String
    public var message: String

    public var description: String { "\(location): warning: \(field): \(message)".escapingControlCharacters }
}
