import Testing

@testable import MdevModel

@Suite("What the cluster agent makes of the KubeVirt CR and hands the daemon")
struct ClusterInputTests {
    /// A CR as the API server sends it (JSON, no spaces), with `configuration` as given.
    func cr(name: String = "kubevirt", phase: String = "Deployed", deleting: Bool = false, configuration: String) -> String {
        let deletion = deleting ? #","deletionTimestamp":"2026-12-07T10:00:00Z""# : ""
        return #"{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"\#(name)","namespace":"kubevirt"\#(deletion),"#
            + #""managedFields":[{"manager":"x"}]},"spec":{"configuration":\#(configuration)},"status":{"phase":"\#(phase)"}}"#
    }

    let lists = #""mediatedDeviceTypes":["nvidia-222","nvidia-228"],"nodeMediatedDeviceTypes":[{"nodeSelector":{"gpu-profile":"compute"},"mediatedDeviceTypes":["GRID_T4-16Q"]}]"#

    @Test func renderedConfigReadsBackTheSame() throws {
        let config = ReconcilerConfig(
            mediatedDevices: MediatedDevicesConfiguration(
                mediatedDeviceTypes: ["nvidia-222", "GRID_T4-16Q"],
                nodeMediatedDeviceTypes: [
                    NodeMediatedDeviceTypes(nodeSelector: [Label(key: "nvidia.com/gpu.product", value: "Tesla-T4")], mediatedDeviceTypes: ["nvidia-228"]),
                    NodeMediatedDeviceTypes(nodeSelector: [], mediatedDeviceTypes: []),
                ]),
            settings: ReconcilerSettings(removeForeignDevices: true, rebalance: .onHardwareChange, manageMIG: true))
        let text = InputFileRenderer.config(config, header: ["written by a test\nwith a forged line"])
        #expect(text.hasPrefix("# written by a test\\nwith a forged line\nmediatedDevicesConfiguration:\n"))
        #expect(try ConfigParser.parse(text, file: "c").config == config)
        let off = ReconcilerConfig(mediatedDevices: MediatedDevicesConfiguration(enabled: false, mediatedDeviceTypes: []))
        #expect(try ConfigParser.parse(InputFileRenderer.config(off), file: "c").config == off)
    }

    @Test func quotingKeepsEveryCharacterInItsString() throws {
        #expect(InputFileRenderer.quoted("a\"b\\c\u{1B}\u{2028}é😀") == #""a\"b\\c\u001b\u2028\u00e9\U0001f600""#)
    }

    @Test func renderedLabelsReadBackTheSame() throws {
        let labels = [Label(key: "kubernetes.io/hostname", value: "node-1"), Label(key: "empty", value: "")]
        #expect(try LabelsFileParser.parse(InputFileRenderer.labels(labels, header: ["from Node node-1"]), file: "l") == labels)
    }

    @Test func handlingOnHandsNothingToTheDaemon() throws {
        let on = try KubeVirtCR.parse(cr(configuration: #"{"mediatedDevicesConfiguration":{\#(lists)}}"#))
        #expect(!on.handlingDisabled)
        #expect(on.lists?.mediatedDeviceTypes == ["nvidia-222", "nvidia-228"])
        guard case .write(let config, .kubevirtManaged) = ClusterTarget.decide(crs: [on], namespace: "kubevirt", settings: nil) else {
            Issue.record("expected kubevirt-managed")
            return
        }
        #expect(!config.mediatedDevices.enabled)
    }

    @Test func enabledFalseHandsTheListsOverWithoutTheFlag() throws {
        let off = try KubeVirtCR.parse(cr(configuration: #"{"mediatedDevicesConfiguration":{"enabled":false,\#(lists)}}"#))
        let settings = ReconcilerSettings(removeForeignDevices: true)
        guard case .write(let config, .managed) = ClusterTarget.decide(crs: [off], namespace: "kubevirt", settings: .success(settings)) else {
            Issue.record("expected managed")
            return
        }
        #expect(config.mediatedDevices.enabled)
        #expect(config.mediatedDevices.nodeMediatedDeviceTypes.first?.nodeSelector == [Label(key: "gpu-profile", value: "compute")])
        #expect(config.settings == settings)
    }

    @Test func theFeatureGateHandsOverToo() throws {
        let gated = try KubeVirtCR.parse(cr(configuration: #"{"developerConfiguration":{"featureGates":["GPU","DisableMDEVConfiguration"]},"mediatedDevicesConfiguration":{\#(lists)}}"#))
        #expect(gated.handlingDisabled)
        guard case .write(_, .managed) = ClusterTarget.decide(crs: [gated], namespace: "kubevirt", settings: nil) else {
            Issue.record("expected managed")
            return
        }
        // Handed over but no list named: nothing is managed.
        let bare = try KubeVirtCR.parse(cr(configuration: #"{"mediatedDevicesConfiguration":{"enabled":false}}"#))
        guard case .write(let config, .disabled) = ClusterTarget.decide(crs: [bare], namespace: "kubevirt", settings: nil) else {
            Issue.record("expected disabled")
            return
        }
        #expect(!config.mediatedDevices.enabled)
    }

    @Test func aFieldThatDoesNotParseIsNamedAndNothingIsWritten() throws {
        let bad = try KubeVirtCR.parse(cr(configuration: #"{"mediatedDevicesConfiguration":{"enabled":false,"mediatedDeviceTypes":["nvidia-222",7]}}"#))
        #expect(ClusterTarget.decide(crs: [bad], namespace: "kubevirt", settings: nil) == .keep(
            reason: "ConfigUnreadable",
            message: "KubeVirt kubevirt/kubevirt: spec.configuration.mediatedDevicesConfiguration.mediatedDeviceTypes[1]: expected a string, found the number '7'; quote it if it is meant as text"))
        let settings = Result<ReconcilerSettings, InputError> { () throws(InputError) in
            try ConfigParser.parseSettingsDocument("mdevReconciler:\n  rebalance: sometimes\n", file: "ConfigMap mdev-reconciler/mdev-reconciler settings.yaml")
        }
        let good = try KubeVirtCR.parse(cr(configuration: #"{"mediatedDevicesConfiguration":{"enabled":false,\#(lists)}}"#))
        guard case .keep("SettingsUnreadable", let message) = ClusterTarget.decide(crs: [good], namespace: "kubevirt", settings: settings) else {
            Issue.record("expected the settings refused")
            return
        }
        #expect(message.hasPrefix("ConfigMap mdev-reconciler/mdev-reconciler settings.yaml:2:14: mdevReconciler.rebalance: expected one of"))
    }

    @Test func theCRInUseIsTheOneNotBeingDeletedWithAPhase() throws {
        let deleting = try KubeVirtCR.parse(cr(name: "a", deleting: true, configuration: "{}"))
        let new = try KubeVirtCR.parse(cr(name: "b", phase: "", configuration: "{}"))
        let used = try KubeVirtCR.parse(cr(name: "c", configuration: "{}"))
        #expect(KubeVirtCR.inUse(among: [deleting, new, used])?.name == "c")
        #expect(ClusterTarget.decide(crs: [deleting, new], namespace: "kubevirt", settings: nil) == .keep(
            reason: "KubeVirtCRNotFound",
            message: "no KubeVirt CR in namespace 'kubevirt': none is in use (each is being deleted or has no status.phase yet)"))
    }

    @Test func theDigestCoversBothFiles() {
        #expect(InputDigest.of(config: "a", labels: "b") != InputDigest.of(config: "ab", labels: ""))
        #expect(InputDigest.of(config: "", labels: "").count == 64)
    }
}
