/// One vGPU type as NVIDIA's vendor-specific framework lists it in a virtual function's
/// `nvidia/creatable_vgpu_types`: the number written to `current_vgpu_type` and the type's name.
///
/// The numbers are the same as the mdev type ids of the older interface: `558` here is `nvidia-558` there,
/// so a config entry names a type the same way in both modes (``typeID``, or the name with `_` for spaces).
public struct VGPUTypeListing: Sendable, Hashable, Codable {
    public var number: Int
    public var name: String

    public init(number: Int, name: String) {
        self.number = number
        self.name = name
    }

    /// The type id this program uses for it in both modes: `nvidia-<number>`.
    public var typeID: String { Self.typeID(number: number) }

    public static func typeID(number: Int) -> String { "nvidia-\(number)" }

    /// The number of a type id `nvidia-<number>`, or nil for any other id.
    public static func number(ofTypeID id: String) -> Int? {
        guard id.hasPrefix("nvidia-"), let number = Int(id.dropFirst("nvidia-".count)), number > 0 else { return nil }
        return number
    }

    /// The framebuffer of a time-sliced profile, in GB, from its name: `NVIDIA L40S-48Q` → 48,
    /// `NVIDIA A40-2Q` → 2. Nil for MIG-backed profiles (`NVIDIA A100-3-20C`), whose capacity is not a
    /// matter of framebuffer, and for names without a size.
    public static func framebufferGB(ofTypeName name: String) -> Int? {
        let segments = name.split(separator: "-", omittingEmptySubsequences: false)
        guard segments.count >= 2, let profile = segments.last else { return nil }
        if segments.count >= 3, segments[segments.count - 2].allSatisfy(\.isNumber) { return nil }
        let digits = profile.prefix { $0.isNumber }
        let suffix = profile.dropFirst(digits.count)
        guard let size = Int(digits), size > 0, !suffix.isEmpty, suffix.allSatisfy({ $0.isLetter }) else { return nil }
        return size
    }
}

/// Parses `nvidia/creatable_vgpu_types`.
///
/// Two layouts occur: the driver's table (`ID    : vGPU Name`, then `1145  : NVIDIA L40S-1B`), and the one
/// NVIDIA's user guide shows, name then number (`NVIDIA A40-1Q 557`). An empty file, or the header alone,
/// lists nothing: the virtual function already has a type, or its GPU is full.
public enum CreatableVGPUTypes {
    /// A line that fits neither layout.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var text: String

        public init(line: Int, text: String) {
            self.line = line
            self.text = text
        }

        public var description: String { "line \(line): cannot read a vGPU type from \(text.quoted)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [VGPUTypeListing] {
        var listings: [VGPUTypeListing] = []
        for (index, rawLine) in text.textLines().enumerated() {
            let line = rawLine.trimmingSpaces()
            if line.isEmpty { continue }
            if let colon = line.firstIndex(of: ":") {
                let left = String(line[..<colon]).trimmingSpaces()
                let right = String(line[line.index(after: colon)...]).trimmingSpaces()
                if let number = Int(left), number > 0, !right.isEmpty {
                    listings.append(VGPUTypeListing(number: number, name: right))
                    continue
                }
                if left == "ID" { continue }  // The header.
            } else if let space = line.lastIndex(of: " "), let number = Int(line[line.index(after: space)...]), number > 0 {
                let name = String(line[..<space]).trimmingSpaces()
                if !name.isEmpty {
                    listings.append(VGPUTypeListing(number: number, name: name))
                    continue
                }
            }
            throw ParseError(line: index + 1, text: line)
        }
        return listings
    }
}
