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

    @Test("CRLF lines are lines; a key given twice is an error at its second line, as in YAML")
    func crlfAndDuplicates() throws {
        #expect(try LabelsFileParser.parse("a=1\r\nb=2\r\n", file: "labels") == [Label(key: "a", value: "1"), Label(key: "b", value: "2")])
        #expect(throws: InputError(SourceLocation(file: "labels", line: 3, column: 1), field: "a", "the key appears more than once (first at line 1)")) {
            try LabelsFileParser.parse("a=1\nb=2\na=3\n", file: "labels")
        }
    }

    @Test("Many labels: each is set and found by its key (a file of 80,000 took 14 s when lookups were linear)")
    func manyLabels() throws {
        let text = (0..<20_000).map { "key\($0)=v\($0)\n" }.joined()
        let labels = HostLabels.builtIn(nodeName: "n").overridden(by: try LabelsFileParser.parse(text, file: "labels"))
        #expect(labels.labels.count == 20_003)
        #expect(labels["key19999"] == "v19999" && labels["kubernetes.io/hostname"] == "n")
        #expect(labels.overridden(by: [Label(key: "key5", value: "x")])["key5"] == "x")
    }

}
