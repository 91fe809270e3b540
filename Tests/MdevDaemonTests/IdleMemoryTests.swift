import Testing

@testable import MdevDaemon

@Suite("Idle memory: the code mappings a finished pass gives back")
struct IdleMemoryTests {
    static let maps = """
        55e0c8a00000-55e0c8b00000 r--p 00000000 fe:01 1234   /usr/sbin/mdev-reconciler
        55e0c8b00000-55e0c9a00000 r-xp 00100000 fe:01 1234   /usr/sbin/mdev-reconciler
        55e0c9a00000-55e0c9b00000 r--p 01000000 fe:01 1234   /usr/sbin/mdev-reconciler
        55e0c9b00000-55e0c9c00000 rw-p 01100000 fe:01 1234   /usr/sbin/mdev-reconciler
        55e0c9c00000-55e0c9d00000 rw-p 00000000 00:00 0
        7f0000000000-7f0000100000 r-xp 00000000 fe:01 99     /usr/lib/x86_64-linux-gnu/libc.so.6
        7f0000200000-7f0000300000 r-xp 00000000 fe:01 77     /usr/sbin/mdev-reconciler-old
        7f0000400000-7f0000500000 rwxp 00000000 fe:01 1234   /usr/sbin/mdev-reconciler
        7f0000600000-7f0000700000 r-xp 00000000 fe:01 1235   /usr/sbin/mdev-reconciler (deleted)
        7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0      [vdso]
        """

    @Test("Only the executable's own private read-only code: not its data, not libraries, not writable code")
    func codeMappings() {
        #expect(IdleMemory.codeMappings(maps: Self.maps, executable: "/usr/sbin/mdev-reconciler")
            == [0x55e0_c8b0_0000..<0x55e0_c9a0_0000])
        // An executable replaced on disk (a package upgrade) is named as the kernel names it.
        #expect(IdleMemory.codeMappings(maps: Self.maps, executable: "/usr/sbin/mdev-reconciler (deleted)")
            == [0x7f00_0060_0000..<0x7f00_0070_0000])
        #expect(IdleMemory.codeMappings(maps: "garbage\n-\n1-2 r-xp\n", executable: "/usr/sbin/mdev-reconciler").isEmpty)
    }

    @Test("A release unmaps this process's code and the process runs on")
    func releaseInThisProcess() {
        let release = IdleMemory.release()
        #expect(release.unmappedBytes > 0)
        // Code runs again after it: what this test runs next faults back in.
        #expect(IdleMemory.codeMappings(maps: Self.maps, executable: "/usr/sbin/mdev-reconciler").count == 1)
    }
}
