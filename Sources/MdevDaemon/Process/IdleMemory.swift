import CGlibcShims
import Glibc

/// Gives back, after a pass, what the daemon holds only because of work it has finished.
///
/// - Heap pages freed during the pass go back to the kernel (`malloc_trim`).
/// - The daemon's own code and constant data are unmapped (`MADV_DONTNEED` on its executable's loadable
///   segments that are never writable, so they hold no private data: the code, and the read-only data
///   with the Swift type metadata and reflection records the argument parser walks): argument parsing,
///   config reading and the first pass fault in most of the binary, which the idle daemon never touches
///   again. The pages stay in the page cache (the unit's cgroup memory, which counts the page cache, does
///   not change, and the kernel may reclaim them first); whatever the next pass uses is mapped back by
///   minor faults, without disk reads. The writable segments (relocated data, the heap's neighbours) stay.
///
/// The segments come from the program headers the kernel mapped at exec (the auxiliary vector's `AT_PHDR`
/// and `AT_PHNUM`), not from `/proc/self/maps` and the executable's path, which need not agree (a binary
/// replaced by an upgrade, overlay file systems, a `/proc` that is not the host's).
///
/// The idle daemon's resident set is then what it uses while idle: its heap and stacks, the libraries'
/// pages and the code of the wait itself.
public enum IdleMemory {
    /// What one release did.
    public struct Release: Sendable, Hashable {
        /// The bytes of the executable's read-only mappings unmapped.
        public var unmappedBytes: Int
        /// Whether `malloc_trim` returned memory to the kernel.
        public var trimmedHeap: Bool
    }

    /// One program header of an ELF executable, as far as finding its read-only segments needs.
    struct Segment: Sendable, Hashable {
        var type: UInt32
        var flags: UInt32
        var virtualAddress: UInt
        var memorySize: UInt
    }

    /// Keeps the kernel from backing this process's memory with transparent huge pages (Debian's kernels
    /// enable them for every process): a heap region collapsed into one 2 MB page stays resident whole, so
    /// the idle daemon kept 3.6 instead of 1.6 MB of anonymous memory in some test-bed runs, and neither
    /// `malloc_trim` nor `MADV_DONTNEED` gives back part of it. Called once, at the daemon's start.
    public static func disableTransparentHugePages() {
        _ = prctl(41 /* PR_SET_THP_DISABLE */, 1, 0, 0, 0)
    }

    /// Releases the process's freed heap and its executable's read-only pages.
    @discardableResult
    public static func release() -> Release {
        let trimmed = malloc_trim(0) == 1
        var unmapped = 0
        for range in executableReadOnlyRanges() {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            if madvise(start, Int(range.upperBound - range.lowerBound), MADV_DONTNEED) == 0 {
                unmapped += Int(range.upperBound - range.lowerBound)
            }
        }
        return Release(unmappedBytes: unmapped, trimmedHeap: trimmed)
    }

    /// The read-only ranges of this process's executable, from the program headers the kernel mapped.
    static func executableReadOnlyRanges() -> [Range<UInt>] {
        let address = UInt(getauxval(UInt(AT_PHDR))), count = Int(getauxval(UInt(AT_PHNUM)))
        guard count > 0, let headers = UnsafePointer<Elf64_Phdr>(bitPattern: address) else { return [] }
        let segments = (0..<count).map {
            Segment(type: headers[$0].p_type, flags: headers[$0].p_flags,
                    virtualAddress: UInt(headers[$0].p_vaddr), memorySize: UInt(headers[$0].p_memsz))
        }
        return readOnlyRanges(segments: segments, headersAddress: address, pageSize: pageSize)
    }

    /// The address ranges of the loadable segments that are not writable (code, and constant data), in whole
    /// pages inside each segment (a page shared with another segment is left alone).
    ///
    /// - Parameter headersAddress: where the program headers are mapped; with the `PT_PHDR` header's own
    ///   address it gives the load bias of a position-independent executable (0 for one that is not). No
    ///   `PT_PHDR` header: no bias is known, and nothing is returned.
    static func readOnlyRanges(segments: [Segment], headersAddress: UInt, pageSize: Int) -> [Range<UInt>] {
        guard let headers = segments.first(where: { $0.type == UInt32(PT_PHDR) }), headersAddress >= headers.virtualAddress
        else { return [] }
        let bias = headersAddress - headers.virtualAddress
        let page = UInt(pageSize)
        return segments.compactMap { segment in
            guard segment.type == UInt32(PT_LOAD), segment.flags & UInt32(PF_W) == 0
            else { return nil }
            let (base, baseOverflow) = bias.addingReportingOverflow(segment.virtualAddress)
            let (start, startOverflow) = base.addingReportingOverflow(page - 1)
            let (end, endOverflow) = base.addingReportingOverflow(segment.memorySize)
            guard !baseOverflow, !startOverflow, !endOverflow else { return nil }
            let first = start / page * page, last = end / page * page
            return first < last ? first..<last : nil
        }
    }

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
}
