/// The numbers sysfs attributes hold (`available_instances`, `sriov_totalvfs`, `sriov_numvfs`,
/// `nvidia/current_vgpu_type`): one non-negative decimal integer, as the kernel prints an `int`, and a
/// newline.
public enum SysfsNumber {
    /// The largest value accepted: what the kernel prints from a signed 32-bit `int`.
    public static let maximum = Int(Int32.max)

    /// What a message says was expected.
    public static let expected = "a whole number from 0 to \(maximum)"

    /// The number `text` holds, surrounding whitespace aside; nil for anything else: a sign, a fraction,
    /// hex, other text, or a value above ``maximum`` (2^63, say, which must not wrap or trap).
    public static func count(_ text: some StringProtocol) -> Int? {
        let digits = text.trimmingSpaces()
        guard !digits.isEmpty, digits.utf8.count <= 10, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        guard let value = Int(digits), value <= maximum else { return nil }
        return value
    }
}
