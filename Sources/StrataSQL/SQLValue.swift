import Foundation

/// One value that travels to or from the database.
///
/// Values only reach SQL as binds: build queries with ``SQLQuery`` interpolation and
/// each value becomes a placeholder. Money and credits are `.int` (minor units);
/// times are `.timestamp` (UTC, microseconds).
public enum SQLValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// An exact decimal, as text (`NUMERIC` / `DECIMAL`).
    case decimal(String)
    case string(String)
    case bytes([UInt8])
    case timestamp(SQLTimestamp)
    /// A JSON document, as its text.
    case json(String)

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The kind of value, for error messages (never the value itself).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .double: "double"
        case .decimal: "decimal"
        case .string: "string"
        case .bytes: "bytes"
        case .timestamp: "timestamp"
        case .json: "json"
        }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .bool(let b): String(b)
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .decimal(let s): s
        case .string(let s): s
        case .bytes(let b): "<\(b.count) bytes>"
        case .timestamp(let t): t.description
        case .json(let j): j
        }
    }
}
