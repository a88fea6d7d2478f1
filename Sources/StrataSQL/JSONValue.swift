/// A JSON value, the value of a JSON column, compared by meaning.
///
/// PostgreSQL's `jsonb` and MySQL's `JSON` store a document in their own form (key
/// order, spacing, `1.0` against `1`), so a value read back is compared with `==`, which
/// ignores key order and compares numbers by value, never with its text. It lives here,
/// beside `SQLValue`, so that billing (the audit log) and the seeds share it without one
/// importing the other.
///
/// ```swift
/// let a = JSONValue.object(["seats": .integer(3), "sso": .bool(true)])
/// let b = JSONValue.object(["sso": .bool(true), "seats": .number(3.0)])
/// a == b            // true
/// a.canonicalText   // {"seats":3,"sso":true}
/// ```
public indirect enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A number written without a fraction or exponent that fits 64 bits.
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.integer(x), .integer(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.integer(x), .number(y)), let (.number(y), .integer(x)): Double(x) == y && Int64(exactly: y) == x
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x == y
        default: false
        }
    }

    /// Compact JSON text with keys sorted: the same value always gives the same text.
    public var canonicalText: String {
        var out = ""
        write(to: &out)
        return out
    }

    public var description: String { canonicalText }

    /// What kind of value this is, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Whether a string anywhere in the value holds U+0000, which PostgreSQL's `jsonb` refuses.
    public var containsNUL: Bool {
        switch self {
        case .string(let s): s.unicodeScalars.contains("\u{0}")
        case .array(let items): items.contains { $0.containsNUL }
        case .object(let members): members.contains { $0.key.unicodeScalars.contains("\u{0}") || $0.value.containsNUL }
        default: false
        }
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d): out += "\(d)"
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                members[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    /// Writes `s` quoted, escaping `"`, `\\` and control characters. A string with
    /// nothing to escape, the usual case, is appended whole; otherwise the runs between
    /// escapes are (every byte that needs one is ASCII, so no run splits a character).
    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        if !s.utf8.contains(where: needsEscape) {
            out += s
        } else {
            var copy = s
            copy.withUTF8 { bytes in
                var runStart = 0
                for (i, byte) in bytes.enumerated() where needsEscape(byte) {
                    if runStart < i {
                        out += String(decoding: UnsafeBufferPointer(rebasing: bytes[runStart..<i]), as: UTF8.self)
                    }
                    out += escape(byte)
                    runStart = i + 1
                }
                if runStart < bytes.count {
                    out += String(decoding: UnsafeBufferPointer(rebasing: bytes[runStart...]), as: UTF8.self)
                }
            }
        }
        out += "\""
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20
    }

    private static func escape(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "\""): "\\\""
        case UInt8(ascii: "\\"): "\\\\"
        case UInt8(ascii: "\n"): "\\n"
        case UInt8(ascii: "\r"): "\\r"
        case UInt8(ascii: "\t"): "\\t"
        // The other control characters, below 0x20: two hex digits.
        default: (byte < 0x10 ? "\\u000" : "\\u00") + String(byte, radix: 16)
        }
    }
}
