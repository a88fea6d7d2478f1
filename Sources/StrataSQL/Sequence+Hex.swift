/// Bytes as lowercase hex, for digests and signatures.
extension Sequence where Element == UInt8 {
    /// Two lowercase hex digits a byte, in order: a SHA-256 digest gives 64.
    ///
    /// Package-wide so that every digest (checksums, fingerprints, signatures) is spelt
    /// alike; it lives here, not beside Crypto, because StrataSQL does not link Crypto.
    package var lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
