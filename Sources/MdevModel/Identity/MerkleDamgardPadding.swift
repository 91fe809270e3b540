/// The message padding shared by SHA-1 and SHA-256: a 1 bit, zeros, then the bit length, in 64-byte blocks.
enum MerkleDamgardPadding {
    /// `message` padded and cut into 64-byte blocks.
    static func blocks(of message: [UInt8]) -> [ArraySlice<UInt8>] {
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        padded += UInt64(message.count &* 8).bigEndianBytes
        return stride(from: 0, to: padded.count, by: 64).map { padded[$0..<$0 + 64] }
    }
}

extension ArraySlice<UInt8> {
    /// The big-endian 32-bit word at `offset` bytes from the start of this slice.
    func bigEndianWord(at offset: Int) -> UInt32 {
        let i = startIndex + offset
        return UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
}

extension FixedWidthInteger {
    var bigEndianBytes: [UInt8] {
        (0..<(Self.bitWidth / 8)).reversed().map { UInt8(truncatingIfNeeded: self >> ($0 * 8)) }
    }
}

extension UInt32 {
    func rotatedLeft(by n: UInt32) -> UInt32 { (self << n) | (self >> (32 - n)) }
    func rotatedRight(by n: UInt32) -> UInt32 { (self >> n) | (self << (32 - n)) }
}
