import Crypto

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
        let digest = SHA256.hash(data: Array(Self.normalise(contents).utf8))
        let digits = Array("0123456789abcdef".utf8)
        hex = String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }

    /// The text the checksum is taken of.
    ///
    /// - Parameter text: A file's text.
    /// - Returns: The text with LF line endings, no blanks at the end of a line and no
    ///   blank lines or line ending at the end.
    public static func normalise(_ text: String) -> String {
        let blanks: Set<Character> = [" ", "\t", "\u{0B}", "\u{0C}"]
        var lines = unifyingLineEndings(text).split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.lastIndex { !blanks.contains($0) }.map { line[...$0] } ?? "" }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    public var description: String { hex }

    /// The text with CRLF and lone CR line endings turned into LF.
    ///
    /// Works on scalars: as `Character`s, `"\r\n"` is one grapheme and would not
    /// split on `"\n"`.
    private static func unifyingLineEndings(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
            } else if !(scalar == "\n" && previousWasCR) {
                scalars.append(scalar)
            }
            previousWasCR = scalar == "\r"
        }
        return String(scalars)
    }
}
