import Testing

@testable import MdevModel

@Suite("Host labels")
struct LabelsTests {
    @Test("A labels file: comments, blank lines, spaces around '=', empty values")
    func parse() throws {
        let labels = try LabelsFileParser.parse("""
            # GPU inventory
            nvidia.com/gpu.product = Tesla-T4

            zone=rack-12
            kubernetes.io/hostname=gpu-node-3
            empty=
            """, file: "labels")
        #expect(labels.map(\.description) == [
            "nvidia.com/gpu.product=Tesla-T4", "zone=rack-12", "kubernetes.io/hostname=gpu-node-3", "empty=",
        ])
    }

    @Test("A bad line is an error naming file, line and column", arguments: [
        ("zone=a\nno equals sign\n", "labels:2:1: expected 'key=value', found 'no equals sign'"),
        ("  bad key=1\n", "labels:1:3: bad key: the key 'bad key' may hold only letters, digits, '-', '_' and '.'"),
        ("Example.COM/x=1\n", "labels:1:1: Example.COM/x: the key prefix 'Example.COM' is not a DNS subdomain (lower-case letters, digits, '-', '.')"),
        ("a/b/c=1\n", "labels:1:1: a/b/c: a key has at most one '/'"),
        ("zone=rack 12\n", "labels:1:6: zone: the value 'rack 12' may hold only letters, digits, '-', '_' and '.'"),
        ("zone=-rack\n", "labels:1:6: zone: the value '-rack' must start and end with a letter or digit"),
        ("=x\n", "labels:1:1: the key is empty"),
    ])
    func errors(text: String, message: String) {
        let error = #expect(throws: InputError.self) { try LabelsFileParser.parse(text, file: "labels") }
        #expect(error?.description == message)
    }

    @Test("Built-in labels, overridden by the file's")
    func builtInAndOverride() {
        let builtIn = HostLabels.builtIn(nodeName: "node01", architecture: "amd64")
        #expect(builtIn["kubernetes.io/hostname"] == "node01")
        #expect(builtIn["kubernetes.io/os"] == "linux")
        #expect(builtIn["kubernetes.io/arch"] == "amd64")
        let labels = builtIn.overridden(by: [Label(key: "kubernetes.io/hostname", value: "other"), Label(key: "gpu", value: "t4")])
        #expect(labels["kubernetes.io/hostname"] == "other")
        #expect(labels["gpu"] == "t4")
        #expect(labels.labels.count == 4)
    }

    @Test("The architecture label uses Go's names")
    func architecture() {
        #if arch(x86_64)
            #expect(HostLabels.currentArchitecture == "amd64")
        #elseif arch(arm64)
            #expect(HostLabels.currentArchitecture == "arm64")
        #endif
    }
}
