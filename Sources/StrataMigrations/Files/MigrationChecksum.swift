import Crypto
import StrataSQL

/// The SHA-256 of a migration file's normalised text, as lowercase hex.
///
/// Normalising first means that changes a reviewer would not call changes keep the
/// checksum: CRLF or CR line endings, blanks at the end of lines, blank lines (or a
/// missing newline) at the end of the file. Anything else, a comment included, changes
/// it, so an applied migration whose file was edited is caught.
///
/// ```swift
/// MigrationChecksum(contents: "SELECT 1;\r\n\r\n") == MigrationChecksum(contents: "SELECT 1;")  // true
/// ```
public struct MigrationChecksum: Hashable, Sendable, CustomStringConvertible {
    /// 64 lowercase hex digits.
    public let hex: String

    /// Wraps a checksum read back from the history table.
    ///
    /// - Parameter hex: The hex digits, as ``hex`` gave them.
    public init(hex: String) {
        self.hex = hex
    }

    /// Computes the checksum of a file's text.
    ///
    /// - Parameter contents: The file's text, as read.
    public init(contents: String) {
        hex = SHA256.hash(data: Self.normalisedBytes(contents)).lowercaseHex
    }

    /// The text the checksum is taken of.
    ///
    /// - Parameter text: A file's text.
    /// - Returns: The text with LF line endings, no blanks at the end of a line and no
    ///   blank lines or line ending at the end.
    public static func normalise(_ text: String) -> String {
        String(decoding: normalisedBytes(text), as: UTF8.self)
    }

    /// Works on UTF-8 bytes: line endings and blanks are ASCII, and never part of a
    /// multi-byte character.
    private static func normalisedBytes(_ text: String) -> [UInt8] {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0B || byte == 0x0C }
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        var previous: UInt8 = 0
        for byte in text.utf8 {
            defer { previous = byte }
            guard byte == cr || byte == lf else {
                result.append(byte)
                continue
            }
            if byte == lf, previous == cr { continue }
            while let last = result.last, isBlank(last) { result.removeLast() }
            result.append(lf)
        }
        while let last = result.last, isBlank(last) || last == lf { result.removeLast() }
        return result
    }

    public var description: String { hex }
}
