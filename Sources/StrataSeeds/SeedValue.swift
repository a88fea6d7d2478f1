import StrataSQL

/// A validated value of one column of a seed row.
///
/// It binds as the column's type and compares with what the table holds, reading the
/// stored value as leniently as the two backends require (MySQL's `BOOLEAN` is a
/// number, a JSON column comes back reformatted).
enum SeedValue: Sendable, Equatable, CustomStringConvertible {
    case text(String)
    case integer(Int64)
    case boolean(Bool)
    case json(JSONValue)

    /// The bind for this value; JSON goes as ``SQLJSON`` in canonical form.
    var sqlValue: SQLValue {
        switch self {
        case .text(let s): .string(s)
        case .integer(let i): .int(i)
        case .boolean(let b): .bool(b)
        case .json(let j): SQLJSON(j.canonicalText).sqlValue
        }
    }

    /// Whether a value read from the table means the same as this one.
    func matches(_ stored: SQLValue) -> Bool {
        switch self {
        case .text(let s): return (try? String(sqlValue: stored)) == s
        case .integer(let i): return (try? Int64(sqlValue: stored)) == i
        case .boolean(let b): return (try? Bool(sqlValue: stored)) == b
        case .json(let j):
            guard let text = try? String(sqlValue: stored), let parsed = try? JSONReader.value(in: text) else { return false }
            return parsed == j
        }
    }

    var description: String {
        switch self {
        case .text(let s): s
        case .integer(let i): String(i)
        case .boolean(let b): String(b)
        case .json(let j): j.canonicalText
        }
    }
}
