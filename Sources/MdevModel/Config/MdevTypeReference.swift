/// The rules for a type as a config entry names it: a type id (`nvidia-222`) or a type name with spaces
/// replaced by `_` (`GRID_T4-1B`).
public enum MdevTypeReference {
    /// Why `reference` cannot name a type, or nil when it can.
    ///
    /// Type ids are directory names in sysfs, so '/', whitespace, control characters and a leading '.' are
    /// never valid; only letters, digits and `_ - . : + @` are accepted.
    public static func problem(with reference: String) -> String? {
        if reference.isEmpty { return "a type name is empty" }
        if reference.count > 128 { return "a type name is longer than 128 characters" }
        if reference.hasPrefix(".") { return "a type name cannot start with '.'" }
        if let bad = reference.first(where: { !($0.isLetterOrDigit || "_-.:+@".contains($0)) }) {
            let shown = bad == " " ? "a space (write names with '_' for spaces)" : String(bad).quoted
            return "invalid type name \(reference.quoted): it contains \(shown)"
        }
        return nil
    }
}
