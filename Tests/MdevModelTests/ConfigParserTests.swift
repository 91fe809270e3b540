import Testing

@testable import MdevModel

@Suite("Config files in KubeVirt's schema")
struct ConfigParserTests {
    func parse(_ text: String) throws -> ConfigParser.Result {
        try ConfigParser.parse(text, file: "config.yaml")
    }

    /// The error `text` gives, as its one-line message.
    func error(_ text: String) -> String {
        do {
            _ = try ConfigParser.parse(text, file: "config.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test("A plain mediatedDevicesConfiguration block with node overrides and settings")
    func plainBlock() throws {
        let result = try parse("""
            mediatedDevicesConfiguration:
              mediatedDeviceTypes:
                - nvidia-222
                - GRID_T4-8A
              nodeMediatedDeviceTypes:
                - nodeSelector:
                    kubernetes.io/hostname: node11
                  mediatedDeviceTypes: [nvidia-234]
                - nodeSelector: {}
                  mediatedDeviceTypes: [nvidia-230]
            mdevReconciler:
              removeForeignDevices: true
              enableVirtualFunctions: true
              manageMIG: true
            """)
        let block = result.config.mediatedDevices
        #expect(block.enabled)
        #expect(block.mediatedDeviceTypes == ["nvidia-222", "GRID_T4-8A"])
        #expect(block.nodeMediatedDeviceTypes == [
            NodeMediatedDeviceTypes(nodeSelector: [Label(key: "kubernetes.io/hostname", value: "node11")], mediatedDeviceTypes: ["nvidia-234"]),
            NodeMediatedDeviceTypes(nodeSelector: [], mediatedDeviceTypes: ["nvidia-230"]),
        ])
        #expect(result.config.settings.removeForeignDevices)
        #expect(result.config.settings.enableVirtualFunctions)
        #expect(result.config.settings.manageMIG)
        #expect(result.warnings.isEmpty)
    }

    @Test("A whole KubeVirt CR: the block under spec.configuration, everything else ignored")
    func wholeCR() throws {
        let result = try parse("""
            apiVersion: kubevirt.io/v1
            kind: KubeVirt
            metadata:
              name: kubevirt
              namespace: kubevirt
            spec:
              certificateRotateStrategy: {}
              configuration:
                developerConfiguration:
                  featureGates: [GPU]
                mediatedDevicesConfiguration:
                  mediatedDeviceTypes:
                  - nvidia-222
              workloadUpdateStrategy: {}
            status:
              phase: Deployed
            """)
        #expect(result.config.mediatedDevices.mediatedDeviceTypes == ["nvidia-222"])
        #expect(result.config.settings == ReconcilerSettings())
    }

    @Test("The deprecated spelling is used when the current one is absent, with a warning")
    func deprecatedSpelling() throws {
        let result = try parse("""
            mediatedDevicesConfiguration:
              mediatedDevicesTypes:
              - nvidia-223
            """)
        #expect(result.config.mediatedDevices.mediatedDeviceTypes == ["nvidia-223"])
        #expect(result.warnings.map(\.description) == [
            "config.yaml:2:3: warning: mediatedDevicesConfiguration.mediatedDevicesTypes: 'mediatedDevicesTypes' is deprecated; rename it to 'mediatedDeviceTypes'"
        ])
    }

    @Test("The current spelling wins over the deprecated one when both are set")
    func bothSpellings() throws {
        let result = try parse("""
            mediatedDevicesConfiguration:
              mediatedDevicesTypes: [nvidia-223]
              mediatedDeviceTypes: [nvidia-224]
            """)
        #expect(result.config.mediatedDevices.mediatedDeviceTypes == ["nvidia-224"])
        #expect(result.warnings.count == 1)
    }

    @Test("enabled: false is read; an empty current list falls back to the deprecated one")
    func disabledAndEmptyCurrent() throws {
        let result = try parse("""
            mediatedDevicesConfiguration:
              enabled: false
              mediatedDeviceTypes: []
              mediatedDevicesTypes: [nvidia-230]
            """)
        #expect(!result.config.mediatedDevices.enabled)
        #expect(result.config.mediatedDevices.mediatedDeviceTypes == ["nvidia-230"])
    }

    @Test("Every error names file:line:column and the field", arguments: [
        // Malformed YAML.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222\n",
         "config.yaml:3:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 2, column 24)"),
        // Wrong type of a list.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: nvidia-222\n",
         "config.yaml:2:24: mediatedDevicesConfiguration.mediatedDeviceTypes: expected a list, found 'nvidia-222'"),
        // Wrong type of an item.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes:\n  - {a: b}\n",
         "config.yaml:3:5: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: expected a string, found a mapping"),
        // Unknown key inside the block.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceType: [nvidia-222]\n",
         "config.yaml:2:3: mediatedDevicesConfiguration.mediatedDeviceType: unknown key 'mediatedDeviceType'; known keys: enabled, mediatedDeviceTypes, mediatedDevicesTypes, nodeMediatedDeviceTypes"),
        // Invalid type name.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes:\n  - nvidia-222\n  - GRID T4-1B\n",
         "config.yaml:4:5: mediatedDevicesConfiguration.mediatedDeviceTypes[1]: invalid type name 'GRID T4-1B': it contains a space (write names with '_' for spaces)"),
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [../../power/state]\n",
         "config.yaml:2:25: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: a type name cannot start with '.'"),
        // nodeMediatedDeviceTypes without a global list.
        ("mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {gpu: t4}\n    mediatedDeviceTypes: [nvidia-222]\n",
         "config.yaml:3:3: mediatedDevicesConfiguration.nodeMediatedDeviceTypes: nodeMediatedDeviceTypes needs a global mediatedDeviceTypes list; KubeVirt does not support it alone"),
        // Unknown key in a node entry.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [a]\n  nodeMediatedDeviceTypes:\n  - nodeSelectors: {gpu: t4}\n",
         "config.yaml:4:5: mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].nodeSelectors: unknown key 'nodeSelectors'; known keys: nodeSelector, mediatedDeviceTypes, mediatedDevicesTypes"),
        // Bad label in a selector.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [a]\n  nodeMediatedDeviceTypes:\n  - nodeSelector:\n      gpu: \"t4 card\"\n",
         "config.yaml:5:12: mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].nodeSelector.gpu: the value 't4 card' may hold only letters, digits, '-', '_' and '.'"),
        // Duplicate key.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [a]\n  mediatedDeviceTypes: [b]\n",
         "config.yaml:3:3: 'mediatedDeviceTypes' appears more than once in this mapping (first at line 2, column 3)"),
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [a]\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {a: b}\n    mediatedDeviceTypes: [a]\n    \"nodeSelector\": {}\n",
         "config.yaml:6:5: 'nodeSelector' appears more than once in this mapping (first at line 4, column 5)"),
        // A boolean that is not one.
        ("mediatedDevicesConfiguration:\n  enabled: \"no\"\n  mediatedDeviceTypes: [a]\n",
         "config.yaml:2:12: mediatedDevicesConfiguration.enabled: expected true or false, found the string 'no': a quoted value is text, not a boolean; write it without quotes"),
        ("mediatedDevicesConfiguration:\n  enabled: \"false\"\n  mediatedDeviceTypes: [a]\n",
         "config.yaml:2:12: mediatedDevicesConfiguration.enabled: expected true or false, found the string 'false': a quoted value is text, not a boolean; write it without quotes"),
        ("mediatedDevicesConfiguration:\n  enabled: 1\n  mediatedDeviceTypes: [a]\n",
         "config.yaml:2:12: mediatedDevicesConfiguration.enabled: expected true or false, found the number '1'"),
        // Scalars YAML reads as numbers or booleans are not type names or label values; unknown tags are refused.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [222]\n",
         "config.yaml:2:25: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: expected a string, found the number '222'; quote it if it is meant as text"),
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [true, 0x1F, 1.5e3]\n",
         "config.yaml:2:25: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: expected a string, found the boolean 'true'; quote it if it is meant as text"),
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"a\", 0x1F]\n",
         "config.yaml:2:30: mediatedDevicesConfiguration.mediatedDeviceTypes[1]: expected a string, found the number '0x1F'; quote it if it is meant as text"),
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [!gpu nvidia-222]\n",
         "config.yaml:2:25: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: unknown tag '!gpu'; this file uses no tags"),
        ("mediatedDevicesConfiguration: !!set {a: b}\n",
         "config.yaml:1:31: mediatedDevicesConfiguration: unknown tag 'tag:yaml.org,2002:set'; this file uses no tags"),
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [a]\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {gpu: 12}\n    mediatedDeviceTypes: [a]\n",
         "config.yaml:4:25: mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].nodeSelector.gpu: expected a string, found the number '12'; quote it if it is meant as text"),
        // Control characters are escaped, long values cut: a message is one safe line.
        ("mediatedDevicesConfiguration:\n  \"a\\e[31mred\\rb\": 1\n",
         "config.yaml:2:3: mediatedDevicesConfiguration.a\\u{1B}[31mred\\rb: unknown key 'a\\u{1B}[31mred\\rb'; known keys: enabled, mediatedDeviceTypes, mediatedDevicesTypes, nodeMediatedDeviceTypes"),
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"\(String(repeating: "x", count: 100)) y\"]\n",
         "config.yaml:2:25: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: invalid type name '\(String(repeating: "x", count: 80))…' (22 more characters): it contains a space (write names with '_' for spaces)"),
        // A file that is not a config is not quoted (its first line may be a secret).
        ("root:$y$j9T$secret:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
         "config.yaml:1:1: this is not a config file: expected 'mediatedDevicesConfiguration', 'mdevReconciler' or a KubeVirt CR at the top level"),
        ("a line of text\n",
         "config.yaml:1:1: this is not a config file: expected a mapping with 'mediatedDevicesConfiguration' or a KubeVirt CR, found a line of text"),
        // libyaml's reader offset counts bytes, and CR ends a line: the position is inside the input
        // (fuzzing found 1:173 for this shape).
        ("# \u{e9}t\u{e9}\rmediatedDevicesConfiguration:\r  mediatedDeviceTypes: [a\u{1}]\r",
         "config.yaml:3:26: cannot read the file: control characters are not allowed"),
        (String(repeating: "[", count: 1200),
         "config.yaml:1:1: invalid YAML: the file nests mappings and lists too deeply (more than 1000 levels) (while parsing at line 1, column 1)"),
        // Settings.
        ("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [a]\nmdevReconciler:\n  removeForeign: true\n",
         "config.yaml:4:3: mdevReconciler.removeForeign: unknown key 'removeForeign'; known keys: removeForeignDevices, enableVirtualFunctions, rebalance, manageMIG"),
        // Whole-file problems.
        ("", "config.yaml:1:1: the file is empty; expected 'mediatedDevicesConfiguration' or a KubeVirt CR"),
        ("- nvidia-222\n", "config.yaml:1:1: this is not a config file: expected a mapping with 'mediatedDevicesConfiguration' or a KubeVirt CR, found a list"),
        ("mediatedDeviceTypes: [a]\n",
         "config.yaml:1:1: mediatedDeviceTypes: unknown top-level key 'mediatedDeviceTypes'; expected 'mediatedDevicesConfiguration', 'mdevReconciler' or a KubeVirt CR"),
        ("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n",
         "config.yaml:2:7: kind: expected kind KubeVirt, found 'VirtualMachine'"),
        ("apiVersion: kubevirt.io/v1\nkind: KubeVirt\nspec:\n  configuration: {}\n",
         "config.yaml:1:1: no spec.configuration.mediatedDevicesConfiguration found; this file configures no mediated devices"),
    ])
    func errors(text: String, message: String) {
        #expect(error(text) == message)
    }

    @Test("Type references accept ids and names, and refuse what cannot be a sysfs directory name")
    func typeReferences() {
        for good in ["nvidia-222", "GRID_T4-1B", "i915-GVTg_V5_4", "mtty-1", "NVIDIA_A40-2Q"] {
            #expect(MdevTypeReference.problem(with: good) == nil, "\(good)")
        }
        for bad in ["", ".", "..", "a/b", "a b", "a\tb", "a\u{0}b", String(repeating: "x", count: 129)] {
            #expect(MdevTypeReference.problem(with: bad) != nil, "\(bad)")
        }
    }
}
