import MdevModel
import Testing

@Suite("creatable_vgpu_types and vGPU type names")
struct VGPUTypeListingTests {
    @Test("The driver's table: header, then `<number>  : <name>`")
    func tableLayout() throws {
        let text = "ID    : vGPU Name\n1145  : NVIDIA L40S-1B\n1148  : NVIDIA L40S-2Q\n2164  : NVIDIA L40S-3B\n"
        #expect(try CreatableVGPUTypes.parse(text) == [
            VGPUTypeListing(number: 1145, name: "NVIDIA L40S-1B"), VGPUTypeListing(number: 1148, name: "NVIDIA L40S-2Q"),
            VGPUTypeListing(number: 2164, name: "NVIDIA L40S-3B"),
        ])
    }

    @Test("The user guide's layout: `<name> <number>`")
    func guideLayout() throws {
        #expect(try CreatableVGPUTypes.parse("NVIDIA A40-1Q 557\nNVIDIA A40-2Q  558\n") == [
            VGPUTypeListing(number: 557, name: "NVIDIA A40-1Q"), VGPUTypeListing(number: 558, name: "NVIDIA A40-2Q"),
        ])
    }

    @Test("An empty file or the header alone lists nothing", arguments: ["", "\n", "ID    : vGPU Name\n", "ID : vGPU Name"])
    func empty(text: String) throws {
        #expect(try CreatableVGPUTypes.parse(text).isEmpty)
    }

    @Test("A line that fits neither layout is an error naming the line", arguments: [
        ("ID    : vGPU Name\n1145  : NVIDIA L40S-1B\ngarbage here\n", 3, "garbage here"),
        ("1145 :\n", 1, "1145 :"),
        ("NVIDIA A40-1Q\n", 1, "NVIDIA A40-1Q"),
    ])
    func malformed(text: String, line: Int, content: String) {
        #expect(throws: CreatableVGPUTypes.ParseError(line: line, text: content)) { try CreatableVGPUTypes.parse(text) }
    }

    @Test("Type ids are `nvidia-<number>` in both modes")
    func typeIDs() {
        #expect(VGPUTypeListing(number: 558, name: "NVIDIA A40-2Q").typeID == "nvidia-558")
        #expect(VGPUTypeListing.number(ofTypeID: "nvidia-558") == 558)
        #expect(VGPUTypeListing.number(ofTypeID: "nvidia-") == nil)
        #expect(VGPUTypeListing.number(ofTypeID: "i915-GVTg_V5_4") == nil)
        #expect(VGPUTypeListing.number(ofTypeID: "nvidia-0") == nil)
    }

    @Test("Framebuffer sizes come from time-sliced profile names; MIG-backed names have none", arguments: [
        ("NVIDIA L40S-48Q", 48), ("NVIDIA A40-2Q", 2), ("NVIDIA L40S-1B", 1), ("GRID T4-16Q", 16),
        ("NVIDIA RTX Pro 6000 Blackwell DC-96Q", 96),
    ] as [(String, Int)])
    func framebuffer(name: String, size: Int) {
        #expect(VGPUTypeListing.framebufferGB(ofTypeName: name) == size)
    }

    @Test("No framebuffer for MIG-backed or unsized names", arguments: ["NVIDIA A100-3-20C", "GRID A100-1-5C", "mtty", "NVIDIA A40-Q", "NVIDIA A40-2"])
    func noFramebuffer(name: String) {
        #expect(VGPUTypeListing.framebufferGB(ofTypeName: name) == nil)
    }

    @Test("A CRLF file has lines (Swift takes CR LF for one Character, so splitting at \"\\n\" found none)")
    func crlf() throws {
        #expect(try CreatableVGPUTypes.parse("ID    : vGPU Name\r\n1145  : NVIDIA L40S-1B\r\n1146  : NVIDIA L40S-2B\r\n")
            == [VGPUTypeListing(number: 1145, name: "NVIDIA L40S-1B"), VGPUTypeListing(number: 1146, name: "NVIDIA L40S-2B")])
    }

    @Test("sysfs numbers: decimal 0 to 2^31-1 only; 2^63, negative, signed, hex and text are refused", arguments: [
        ("16\n", 16), ("0", 0), (" 7 \n", 7), ("0016", 16), ("2147483647", 2147483647),
        ("2147483648", nil), ("9223372036854775808", nil), ("-1", nil), ("+5", nil), ("0x10", nil), ("1.5", nil), ("", nil), ("1 2", nil),
    ] as [(String, Int?)])
    func sysfsNumbers(text: String, value: Int?) {
        #expect(SysfsNumber.count(text) == value)
    }

    @Test("max_instance is a sysfs number: a negative or huge one is no limit at all")
    func maxInstance() {
        #expect(TypeDescription(parsing: "num_heads=4, max_instance=16").maxInstances == 16)
        #expect(TypeDescription(parsing: "max_instance=-3").maxInstances == nil)
        #expect(TypeDescription(parsing: "max_instance=99999999999999999999").maxInstances == nil)
    }


    @Test("A description splits at every comma and newline, also one a combining mark follows (found by fuzzing)")
    func descriptionSeparators() {
        let description = TypeDescription(parsing: "a=1,\u{301}b=2\r\u{301}c=3")
        #expect(description.fields.map(\.key) == ["a", "\u{301}b", "\u{301}c"])
        #expect(description.fields.allSatisfy { !$0.key.unicodeScalars.contains(",") && !$0.value.unicodeScalars.contains(",") })
    }

}
