/// The `mediatedDevicesConfiguration` block of KubeVirt's CR, as this program uses it.
public struct MediatedDevicesConfiguration: Sendable, Hashable {
    /// `false` means: manage nothing, create nothing, remove nothing.
    public var enabled: Bool
    /// Wanted types, in order of preference (`mediatedDeviceTypes`, or the deprecated `mediatedDevicesTypes`).
    public var mediatedDeviceTypes: [String]
    /// Per-host overrides.
    public var nodeMediatedDeviceTypes: [NodeMediatedDeviceTypes]

    public init(enabled: Bool = true, mediatedDeviceTypes: [String], nodeMediatedDeviceTypes: [NodeMediatedDeviceTypes] = []) {
        self.enabled = enabled
        self.mediatedDeviceTypes = mediatedDeviceTypes
        self.nodeMediatedDeviceTypes = nodeMediatedDeviceTypes
    }
}

/// One entry of `nodeMediatedDeviceTypes`: the types for hosts whose labels match `nodeSelector`.
public struct NodeMediatedDeviceTypes: Sendable, Hashable {
    /// Labels a host must all carry; empty matches every host.
    public var nodeSelector: [Label]
    public var mediatedDeviceTypes: [String]

    public init(nodeSelector: [Label], mediatedDeviceTypes: [String]) {
        self.nodeSelector = nodeSelector
        self.mediatedDeviceTypes = mediatedDeviceTypes
    }
}

/// Settings of this program that KubeVirt's schema does not have, under the top-level key `mdevReconciler`.
public struct ReconcilerSettings: Sendable, Hashable {
    /// Remove devices this program did not create when the plan needs their room (KubeVirt's behaviour).
    /// Off by default: foreign devices are kept, counted and reported.
    public var removeForeignDevices: Bool
    /// Enable the SR-IOV virtual functions of NVIDIA GPUs that have none, with NVIDIA's `sriov-manage -e`.
    /// Off by default: enabling them is the host's business (NVIDIA's `nvidia-sriov.service`).
    public var enableVirtualFunctions: Bool
    /// When devices of a wanted type may move to another card to restore the balance.
    public var rebalance: RebalancePolicy
    /// Make NVIDIA GPUs ready for MIG-backed vGPU types: MIG mode on (for a GPU without vGPUs) and GPU
    /// instances of the type's profile. Off by default: MIG-backed types are then planned only on GPUs whose
    /// MIG mode is on already, as the host set them up.
    public var manageMIG: Bool

    public init(
        removeForeignDevices: Bool = false, enableVirtualFunctions: Bool = false, rebalance: RebalancePolicy = .onConfigChange,
        manageMIG: Bool = false
    ) {
        self.removeForeignDevices = removeForeignDevices
        self.enableVirtualFunctions = enableVirtualFunctions
        self.rebalance = rebalance
        self.manageMIG = manageMIG
    }
}

/// `mdevReconciler.rebalance`: what may move devices of a wanted type off a card that is still there.
public enum RebalancePolicy: String, Sendable, Hashable, CaseIterable {
    /// A change of the wanted types (config or labels), or an explicit request (`apply --rebalance`,
    /// `mdev-reconciler rebalance`). Hardware events only add: a card that goes away leaves its type unserved.
    case onConfigChange
    /// Also any change of the cards present: the layout is always the balanced one, as in KubeVirt.
    case onHardwareChange
}

/// A whole config file: the KubeVirt block plus this program's settings.
public struct ReconcilerConfig: Sendable, Hashable {
    public var mediatedDevices: MediatedDevicesConfiguration
    public var settings: ReconcilerSettings

    public init(mediatedDevices: MediatedDevicesConfiguration, settings: ReconcilerSettings = .init()) {
        self.mediatedDevices = mediatedDevices
        self.settings = settings
    }
}
