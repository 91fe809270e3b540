import CGlibcShims
import Glibc
import MdevSysfs

/// Gives back, after a pass, what the daemon holds only because of work it has finished.
///
/// - Heap pages freed during the pass go back to the kernel (`malloc_trim`).
/// - The daemon's own code pages are unmapped (`MADV_DONTNEED` on its executable's `r-xp` mappings, which
///   hold no private data): argument parsing, config reading and the first pass fault in most of the
///   binary's code, which the idle daemon never runs again. The pages stay in the page cache (the unit's
///   cgroup memory, which counts the page cache, does not change, and the kernel may reclaim them
///   first); whatever the next pass runs is mapped back by minor faults, without disk reads.
///
/// The idle daemon's resident set is then what it uses while idle: its heap and stacks, the libraries'
/// pages and the code of the wait itself.
public enum IdleMemory {
    /// What one release did.
    public struct Release: Sendable, Hashable {
        /// The bytes of executable mappings unmapped.
        public var unmappedBytes: Int
        /// Whether `malloc_trim` returned memory to the kernel.
        public var trimmedHeap: Bool
    }

    /// Releases the process's freed heap and its executable's code mappings.
    @discardableResult
    public static func release(procSelf: String = "/proc/self") -> Release {
        let trimmed = malloc_trim(0) == 1
        guard let executable = try? FileSystem.readLink(procSelf + "/exe"),
              let maps = try? FileSystem.readText(procSelf + "/maps")
        else { return Release(unmappedBytes: 0, trimmedHeap: trimmed) }
        var unmapped = 0
        for range in codeMappings(maps: maps, executable: executable) {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            if madvise(start, Int(range.upperBound - range.lowerBound), MADV_DONTNEED) == 0 {
                unmapped += Int(range.upperBound - range.lowerBound)
            }
        }
        return Release(unmappedBytes: unmapped, trimmedHeap: trimmed)
    }

    /// The address ranges of `executable`'s private, read-only, executable mappings in a `/proc/PID/maps`
    /// text: the only mappings whose pages are the file's own, never written, so unmapping loses nothing.
    static func codeMappings(maps: String, executable: String) -> [Range<UInt>] {
        var ranges: [Range<UInt>] = []
        for line in maps.split(separator: "\n") {
            // "start-end perms offset dev inode   path"; the path is the rest of the line after five fields.
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1] == "r-xp",
                  String(fields[5].drop { $0 == " " }) == executable
            else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                  start < end, start % UInt(pageSize) == 0, end % UInt(pageSize) == 0
            else { continue }
            ranges.append(start..<end)
        }
        return ranges
    }

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
}
