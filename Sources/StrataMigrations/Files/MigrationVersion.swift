/// The version of a migration: a positive integer of up to 20 digits.
///
/// Versions are sequences (`0007`) or timestamps, sometimes with a counter appended
/// (`2023110112000001`); 20 digits exceed `UInt64`, so the version is kept as a
/// decimal string without leading zeros and compared as a number: by length, then by
/// digits. `0007` and `7` are the same version; a ``MigrationFile`` keeps the spelling
/// its name uses.
///
/// ```swift
/// MigrationVersion("9")! < MigrationVersion("10")!   // true
/// MigrationVersion("0007") == MigrationVersion("7")  // true
/// MigrationVersion("0")                              // nil
/// ```
public struct MigrationVersion: Hashable, Comparable, Sendable, LosslessStringConvertible {
    /// The version in decimal, without leading zeros.
    public let digits: String

    /// The most digits a version may be spelt with.
    public static let maximumDigits = 20

    /// Parses a version.
    ///
    /// - Parameter text: One to 20 ASCII digits, leading zeros allowed, not all zeros.
    /// - Returns: `nil` when `text` is not such a number.
    public init?(_ text: String) {
        guard (1...Self.maximumDigits).contains(text.utf8.count),
              text.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        let significant = text.drop { $0 == "0" }
        guard !significant.isEmpty else { return nil }
        digits = String(significant)
    }

    /// The version after this one, or `nil` past 20 digits.
    public func successor() -> MigrationVersion? {
        var result = Array(digits.utf8)
        var index = result.count - 1
        while index >= 0, result[index] == UInt8(ascii: "9") {
            result[index] = UInt8(ascii: "0")
            index -= 1
        }
        if index >= 0 { result[index] += 1 } else { result.insert(UInt8(ascii: "1"), at: 0) }
        return MigrationVersion(String(decoding: result, as: UTF8.self))
    }

    public static func < (lhs: MigrationVersion, rhs: MigrationVersion) -> Bool {
        (lhs.digits.utf8.count, lhs.digits) < (rhs.digits.utf8.count, rhs.digits)
    }

    public var description: String { digits }
}
