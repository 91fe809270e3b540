/// What the cluster agent hands the daemon, decided from the KubeVirt CRs and this program's settings.
public enum ClusterTarget: Sendable, Hashable {
    /// Write this config: KubeVirt's handling is off and the CR's lists are this program's to serve, or the
    /// config manages nothing (``Handover``).
    case write(ReconcilerConfig, Handover)
    /// Write nothing: the files stay as they are. `reason` is a Kubernetes reason (`KubeVirtCRNotFound`),
    /// `message` one line naming the object and field.
    case keep(reason: String, message: String)

    /// Who manages the node's mediated devices under a written config.
    public enum Handover: String, Sendable, Hashable {
        /// This program: KubeVirt's handling is off and the CR has lists.
        case managed
        /// Nobody: KubeVirt's handling is off and the CR names no list.
        case disabled
        /// KubeVirt's virt-handler: the written config manages nothing, so the two never fight.
        case kubevirtManaged = "kubevirt-managed"
    }

    /// The target for the CRs of the KubeVirt namespace and the settings (nil: no settings ConfigMap; an error
    /// names the ConfigMap as its file).
    public static func decide(crs: [KubeVirtCR], namespace: String, settings: Result<ReconcilerSettings, InputError>?) -> ClusterTarget {
        guard let cr = KubeVirtCR.inUse(among: crs) else {
            let seen = crs.isEmpty ? "none exists" : "none is in use (each is being deleted or has no status.phase yet)"
            return .keep(reason: "KubeVirtCRNotFound", message: "no KubeVirt CR in namespace \(namespace.quoted): \(seen)")
        }
        var settingsInForce = ReconcilerSettings()
        switch settings {
        case .failure(let error)?:
            return .keep(reason: "SettingsUnreadable", message: error.description)
        case .success(let settings)?: settingsInForce = settings
        case nil: break
        }
        if let problem = cr.problem {
            return .keep(reason: "ConfigUnreadable", message: "KubeVirt \(cr.reference): \(problem)")
        }
        let nothing = MediatedDevicesConfiguration(enabled: false, mediatedDeviceTypes: [])
        guard cr.handlingDisabled else { return .write(ReconcilerConfig(mediatedDevices: nothing), .kubevirtManaged) }
        guard let lists = cr.lists else { return .write(ReconcilerConfig(mediatedDevices: nothing, settings: settingsInForce), .disabled) }
        return .write(ReconcilerConfig(mediatedDevices: lists, settings: settingsInForce), .managed)
    }
}
