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
        #expect(IdleMemory.readOnlyRanges(segments: Self.pie, headersAddress: bias + 0x40, pageSize: Self.page)
            == expected.map { bias + $0.lowerBound..<bias + $0.upperBound })
        // Not position-independent: the headers are where they say, no bias.
        #expect(IdleMemory.readOnlyRanges(segments: Self.pie, headersAddress: 0x40, pageSize: Self.page) == expected)
        // Writable code (text relocations) holds private data: never unmapped.
        var writable = Self.pie
        writable[2].flags |= Self.write
        #expect(IdleMemory.readOnlyRanges(segments: writable, headersAddress: 0x40, pageSize: Self.page) == [0..<0x1_2000])
        // Without PT_PHDR the bias is unknown; a segment smaller than a page has no whole page.
        #expect(IdleMemory.readOnlyRanges(segments: Array(Self.pie.dropFirst()), headersAddress: bias + 0x40, pageSize: Self.page).isEmpty)
        var small = Self.pie
        small[2].memorySize = 0x800
        #expect(IdleMemory.readOnlyRanges(segments: small, headersAddress: 0x40, pageSize: Self.page) == [0..<0x1_2000])
        // Headers that cannot be where they say (below their own offset), and an address space overflow.
        #expect(IdleMemory.readOnlyRanges(segments: Self.pie, headersAddress: 0x10, pageSize: Self.page).isEmpty)
        #expect(IdleMemory.readOnlyRanges(segments: Self.pie, headersAddress: UInt.max - 0x100, pageSize: Self.page).isEmpty)
    }

    @Test("A release unmaps this process's own code (where a function of this test is) and the process runs on")
    func releaseInThisProcess() {
        let ranges = IdleMemory.executableReadOnlyRanges()
        let function: @convention(c) () -> Int32 = { 7 }
        let address = UInt(bitPattern: unsafeBitCast(function, to: UnsafeRawPointer.self))
        #expect(ranges.contains { $0.contains(address) })
        let release = IdleMemory.release()
        #expect(release.unmappedBytes == ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) })
        #expect(release.unmappedBytes > 0)
        // The code runs again after it: the unmapped pages fault back in.
        #expect(function() == 7)
    }

    @Test("The daemon's memory is kept off transparent huge pages, which a release could not give back in part")
    func noHugePages() {
        IdleMemory.disableTransparentHugePages()
        #expect(prctl(42 /* PR_GET_THP_DISABLE */, 0, 0, 0, 0) == 1)
    }
}
