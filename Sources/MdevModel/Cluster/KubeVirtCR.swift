/// A `KubeVirt` CR as the cluster agent reads it: which one it is, whether KubeVirt hands mediated devices
/// to another program, and the lists it configures.
public struct KubeVirtCR: Sendable, Hashable {
    public var namespace: String
    public var name: String
    /// `metadata.deletionTimestamp` is set.
    public var deleting: Bool
    /// `status.phase`, empty until virt-operator has seen the CR.
    public var phase: String
    /// KubeVirt's own handling is off: `mediatedDevicesConfiguration.enabled: false` or the
    /// `DisableMDEVConfiguration` feature gate (both as virt-config's `MediatedDevicesHandlingDisabled`).
    public var handlingDisabled: Bool
    /// The block's lists, without KubeVirt's `enabled` (KubeVirt's handover, not this program's switch); nil
    /// when the CR names no list at all. A list that does not parse is ``problem`` instead.
    public var lists: MediatedDevicesConfiguration?
    /// Why the CR's block cannot be used: its field and what is wrong.
    public var problem: String?

    /// `namespace/name`, as messages name the CR.
    public var reference: String { "\(namespace)/\(name)" }

    static let featureGate = "DisableMDEVConfiguration"

    /// Reads the CR from its JSON (or YAML) text. Throws only when the text is no object with a name; a
    /// block that does not parse is kept as ``problem``, so the CR can still be chosen and reported.
    public static func parse(_ text: String) throws(InputError) -> KubeVirtCR {
        let file = "KubeVirt"
        guard let root = try ConfigParser.document(text, file: file) else {
            throw InputError(SourceLocation(file: file, line: 1, column: 1), field: "", "the object is empty")
        }
        func child(_ field: YAMLField?, _ key: String) throws(InputError) -> YAMLField? {
            guard let field, !field.isNull else { return nil }
            return try field.mapping().first { $0.key == key }?.value
        }
        let metadata = try child(root, "metadata")
        guard let name = try child(metadata, "name")?.string() else { throw root.error("the object has no metadata.name") }
        let namespace = try child(metadata, "namespace")?.string() ?? ""
        let deleting = try child(metadata, "deletionTimestamp").map { !$0.isNull } ?? false
        let phase = (try? child(child(root, "status"), "phase")?.string()) ?? ""
        var cr = KubeVirtCR(namespace: namespace, name: name, deleting: deleting, phase: phase, handlingDisabled: false)
        do {
            let configuration = try child(child(root, "spec"), "configuration")
            let gates = try child(child(configuration, "developerConfiguration"), "featureGates")?.sequence() ?? []
            for gate in gates where try gate.string() == featureGate { cr.handlingDisabled = true }
            guard let block = try child(configuration, ConfigParser.blockKey) else { return cr }
            let keys = try block.mapping().map(\.key)
            if let enabled = try child(block, "enabled"), try !enabled.bool() { cr.handlingDisabled = true }
            guard keys.contains(where: { $0 != "enabled" }) else { return cr }
            var parsed = try ConfigParser.parse(root: root).config.mediatedDevices
            parsed.enabled = true
            cr.lists = parsed
        } catch {
            cr.problem = error.field.isEmpty ? error.message : "\(error.field): \(error.message)"
        }
        return cr
    }

    /// The CR virt-handler would use among `crs`: not being deleted and with a phase; the first by name when
    /// there are several (virt-operator allows one).
    public static func inUse(among crs: [KubeVirtCR]) -> KubeVirtCR? {
        crs.filter { !$0.deleting && !$0.phase.isEmpty }.min { $0.name < $1.name }
    }
}
