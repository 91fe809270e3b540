import CGlibcShims
import Glibc

/// Gives back, after a pass, what the program holds only because of work it has finished.
///
/// - Heap pages freed during the pass go back to the kernel (`malloc_trim`).
/// - The code and constant data of the executable and of every library loaded are unmapped
///   (`MADV_DONTNEED` on their loadable segments that are never writable, so they hold no private data: the
///   code, and the read-only data with the Swift type metadata and reflection records the argument parser
///   walks; for kube-agent also libcurl's, OpenSSL's and their libraries', which connecting and the first
///   requests fault in). Argument parsing, config reading and the first pass fault in most of them, which
///   the idle program never touches again. The pages stay in the page cache (the unit's cgroup memory,
///   which counts the page cache, does not change, and the kernel may reclaim them first); whatever the
///   next pass uses is mapped back by minor faults, without disk reads. The writable segments (relocated
///   data, the heap's neighbours) stay.
///
/// The segments come from the program headers the loader keeps in memory (`dl_iterate_phdr`), not from
/// `/proc/self/maps` and file paths, which need not agree (a binary replaced by an upgrade, overlay file
/// systems, a `/proc` that is not the host's). Left alone: the vDSO (no file behind it) and any object with
/// text relocations (its read-only pages were written at load time, and unmapping them would lose that).
///
/// The idle program's resident set is then what it uses while idle: its heap and stacks, and the pages of
/// the code the wait itself runs.
public enum IdleMemory {
    /// What one release did.
    public struct Release: Sendable, Hashable {
        /// The bytes of read-only mappings unmapped (the executable's and the libraries').
        public var unmappedBytes: Int
        /// Whether `malloc_trim` returned memory to the kernel.
        public var trimmedHeap: Bool
    }

    /// One program header of a loaded object, as far as finding its read-only segments needs.
    struct Segment: Sendable, Hashable {
        var type: UInt32
        var flags: UInt32
        var virtualAddress: UInt
        var memorySize: UInt
    }

    /// Keeps the kernel from backing this process's memory with transparent huge pages (Debian's kernels
    /// enable them for every process): a heap region collapsed into one 2 MB page stays resident whole, so
    /// the idle daemon kept 3.6 instead of 1.6 MB of anonymous memory in some test-bed runs, and neither
    /// `malloc_trim` nor `MADV_DONTNEED` gives back part of it. Called once, at the program's start.
    public static func disableTransparentHugePages() {
        _ = prctl(41 /* PR_SET_THP_DISABLE */, 1, 0, 0, 0)
    }

    /// Releases the process's freed heap and the read-only pages of its executable and libraries.
    @discardableResult
    public static func release() -> Release {
        let trimmed = malloc_trim(0) == 1
        var unmapped = 0
        for range in loadedReadOnlyRanges() {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            if madvise(start, Int(range.upperBound - range.lowerBound), MADV_DONTNEED) == 0 {
                unmapped += Int(range.upperBound - range.lowerBound)
            }
        }
        return Release(unmappedBytes: unmapped, trimmedHeap: trimmed)
    }

    /// The read-only ranges of every object the loader mapped, but the vDSO and objects with text relocations.
    static func loadedReadOnlyRanges() -> [Range<UInt>] {
        final class Collected { var ranges: [Range<UInt>] = [] }
        let collected = Collected()
        _ = withExtendedLifetime(collected) {
            dl_iterate_phdr({ info, _, context in
                guard let info, let context, let headers = info.pointee.dlpi_phdr?.assumingMemoryBound(to: Elf64_Phdr.self)
                else { return 0 }
                let bias = UInt(info.pointee.dlpi_addr)
                let segments = (0..<Int(info.pointee.dlpi_phnum)).map {
                    Segment(type: headers[$0].p_type, flags: headers[$0].p_flags,
                            virtualAddress: UInt(headers[$0].p_vaddr), memorySize: UInt(headers[$0].p_memsz))
                }
                let collected = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
                // The vDSO: its ELF header is where the auxiliary vector's AT_SYSINFO_EHDR says.
                if !IdleMemory.isVDSO(segments: segments, bias: bias, vdso: UInt(getauxval(UInt(AT_SYSINFO_EHDR)))),
                    !IdleMemory.hasTextRelocations(segments: segments, bias: bias) {
                    collected.ranges += IdleMemory.readOnlyRanges(segments: segments, bias: bias, pageSize: IdleMemory.pageSize)
                }
                return 0
            }, Unmanaged.passUnretained(collected).toOpaque())
        }
        return collected.ranges
    }

    /// Whether the object is the vDSO, whose ELF header the kernel mapped at `vdso` (0: there is none).
    static func isVDSO(segments: [Segment], bias: UInt, vdso: UInt) -> Bool {
        guard vdso != 0 else { return false }
        return segments.contains { $0.type == UInt32(PT_LOAD) && bias &+ $0.virtualAddress <= vdso && vdso < bias &+ $0.virtualAddress &+ $0.memorySize }
    }

    /// Whether the object's dynamic section asks for text relocations (`DT_TEXTREL`, or `DF_TEXTREL` in
    /// `DT_FLAGS`): its read-only segments then hold pages written at load time.
    static func hasTextRelocations(segments: [Segment], bias: UInt) -> Bool {
        guard let dynamic = segments.first(where: { $0.type == UInt32(PT_DYNAMIC) }),
            let entries = UnsafePointer<Elf64_Dyn>(bitPattern: bias &+ dynamic.virtualAddress)
        else { return false }
        var index = 0
        while entries[index].d_tag != Int64(DT_NULL) {
            let tag = entries[index].d_tag
            if tag == Int64(DT_TEXTREL) { return true }
            if tag == Int64(DT_FLAGS), entries[index].d_un.d_val & UInt64(DF_TEXTREL) != 0 { return true }
            index += 1
        }
        return false
    }

    /// The address ranges of the loadable segments that are not writable (code, and constant data), in whole
    /// pages inside each segment (a page shared with another segment is left alone), moved by the object's
    /// load `bias` (0 for an executable that is not position-independent).
    static func readOnlyRanges(segments: [Segment], bias: UInt, pageSize: Int) -> [Range<UInt>] {
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

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
}
