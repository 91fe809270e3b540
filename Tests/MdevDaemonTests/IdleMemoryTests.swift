import CGlibcShims
import Glibc
import Testing

@testable import MdevDaemon

@Suite("Idle memory: the code pages a finished pass gives back")
struct IdleMemoryTests {
    typealias Segment = IdleMemory.Segment
    static let page = 4096
    static let read = UInt32(PF_R), exec = UInt32(PF_X), write = UInt32(PF_W)

    /// A position-independent executable as lld lays it out: headers and read-only data, code, relro, data.
    static let pie: [Segment] = [
        Segment(type: UInt32(PT_PHDR), flags: read, virtualAddress: 0x40, memorySize: 0x2a0),
        Segment(type: UInt32(PT_LOAD), flags: read, virtualAddress: 0, memorySize: 0x1_2345),
        Segment(type: UInt32(PT_LOAD), flags: read | exec, virtualAddress: 0x1_3345, memorySize: 0x80_0000),
        Segment(type: UInt32(PT_LOAD), flags: read | write, virtualAddress: 0x81_4345, memorySize: 0x1000),
        Segment(type: UInt32(PT_GNU_STACK), flags: read | write | exec, virtualAddress: 0, memorySize: 0),
    ]

    @Test("Only loadable segments that are never writable (code, constant data), in whole pages inside them, moved by the load bias")
    func readOnlyRanges() {
        let bias: UInt = 0x5555_0000_0000
        // The constant data starts with the headers at 0 and ends mid-page (0x12345); the code starts mid-page
        // (0x13345) and ends mid-page (0x813345): the pages they share with others are kept. The data stays.
        let expected: [Range<UInt>] = [0..<0x1_2000, 0x1_4000..<0x81_3000]
        #expect(IdleMemory.readOnlyRanges(segments: Self.pie, bias: bias, pageSize: Self.page)
            == expected.map { bias + $0.lowerBound..<bias + $0.upperBound })
        // Not position-independent: no bias.
        #expect(IdleMemory.readOnlyRanges(segments: Self.pie, bias: 0, pageSize: Self.page) == expected)
        // A writable segment holds private data: never unmapped.
        var writable = Self.pie
        writable[2].flags |= Self.write
        #expect(IdleMemory.readOnlyRanges(segments: writable, bias: 0, pageSize: Self.page) == [0..<0x1_2000])
        // A segment smaller than a page has no whole page.
        var small = Self.pie
        small[2].memorySize = 0x800
        #expect(IdleMemory.readOnlyRanges(segments: small, bias: 0, pageSize: Self.page) == [0..<0x1_2000])
        // An address space overflow.
        #expect(IdleMemory.readOnlyRanges(segments: Self.pie, bias: UInt.max - 0x100, pageSize: Self.page).isEmpty)
    }

    @Test("The vDSO is known by the address of its ELF header; no vDSO, no match")
    func vdso() {
        let segments = [Segment(type: UInt32(PT_LOAD), flags: Self.read | Self.exec, virtualAddress: 0, memorySize: 0x2000)]
        #expect(IdleMemory.isVDSO(segments: segments, bias: 0x7fff_0000_0000, vdso: 0x7fff_0000_0000))
        #expect(!IdleMemory.isVDSO(segments: segments, bias: 0x7fff_0000_0000, vdso: 0x7ffe_0000_0000))
        #expect(!IdleMemory.isVDSO(segments: segments, bias: 0, vdso: 0))
    }

    @Test("An object with text relocations is left alone: DT_TEXTREL, or DF_TEXTREL in DT_FLAGS")
    func textRelocations() {
        func textRelocations(_ entries: [(Int64, UInt64)]) -> Bool {
            let dynamic = (entries + [(Int64(DT_NULL), 0)]).map { Elf64_Dyn(d_tag: $0.0, d_un: .init(d_val: $0.1)) }
            return dynamic.withUnsafeBufferPointer { buffer in
                let address = UInt(bitPattern: buffer.baseAddress)
                let segment = Segment(type: UInt32(PT_DYNAMIC), flags: Self.read | Self.write, virtualAddress: address,
                                      memorySize: UInt(buffer.count * MemoryLayout<Elf64_Dyn>.stride))
                return IdleMemory.hasTextRelocations(segments: Self.pie + [segment], bias: 0)
            }
        }
        let flags = Int64(DT_FLAGS), textrel = Int64(DT_TEXTREL)
        #expect(!textRelocations([(flags, UInt64(DF_BIND_NOW))]))
        #expect(textRelocations([(flags, UInt64(DF_BIND_NOW)), (textrel, UInt64(0))]))
        #expect(textRelocations([(flags, UInt64(DF_TEXTREL | DF_BIND_NOW))]))
        #expect(!IdleMemory.hasTextRelocations(segments: Self.pie, bias: 0))
    }

    @Test("Every loaded object is covered: this test's code, libc's; the vDSO is not")
    func loadedObjects() {
        let ranges = IdleMemory.loadedReadOnlyRanges()
        let function: @convention(c) () -> Int32 = { 7 }
        #expect(ranges.contains { $0.contains(UInt(bitPattern: unsafeBitCast(function, to: UnsafeRawPointer.self))) })
        let strlenAddress = UInt(bitPattern: unsafeBitCast(strlen as @convention(c) (UnsafePointer<CChar>) -> Int, to: UnsafeRawPointer.self))
        #expect(ranges.contains { $0.contains(strlenAddress) })
        let vdso = UInt(getauxval(UInt(AT_SYSINFO_EHDR)))
        #expect(vdso != 0)
        #expect(!ranges.contains { $0.contains(vdso) })
    }

    @Test("A release unmaps this process's code and its libraries' and the process runs on")
    func releaseInThisProcess() {
        let ranges = IdleMemory.loadedReadOnlyRanges()
        let release = IdleMemory.release()
        #expect(release.unmappedBytes == ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) })
        #expect(release.unmappedBytes > 0)
        // The code runs again after it: the unmapped pages fault back in.
        let function: @convention(c) () -> Int32 = { 7 }
        #expect(function() == 7)
        #expect(strlen("seven") == 5)
    }

    @Test("The daemon's memory is kept off transparent huge pages, which a release could not give back in part")
    func noHugePages() {
        IdleMemory.disableTransparentHugePages()
        #expect(prctl(42 /* PR_GET_THP_DISABLE */, 0, 0, 0, 0) == 1)
    }
}
