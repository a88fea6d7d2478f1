import Foundation
import StrataSQL

/// Type OIDs from `pg_type` that the driver encodes or decodes.
enum PostgresOID {
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let char: UInt32 = 18
    static let name: UInt32 = 19
    static let int8: UInt32 = 20
    static let int2: UInt32 = 21
    static let int4: UInt32 = 23
    static let text: UInt32 = 25
    static let oid: UInt32 = 26
    static let json: UInt32 = 114
    static let float4: UInt32 = 700
    static let float8: UInt32 = 701
    static let date: UInt32 = 1082
    static let timestamp: UInt32 = 1114
    static let timestamptz: UInt32 = 1184
    static let numeric: UInt32 = 1700
    static let jsonb: UInt32 = 3802
    static let unknown: UInt32 = 0
}

/// One bind encoded for `PQexecParams`: text format except bytes, sent binary.
struct PostgresBind {
    var oid: UInt32
    var bytes: [UInt8]?
    var isBinary = false

    init(_ value: SQLValue) {
        switch value {
        case .null: oid = PostgresOID.unknown; bytes = nil
        case .bool(let b): oid = PostgresOID.bool; bytes = Array((b ? "t" : "f").utf8)
        case .int(let i): oid = PostgresOID.int8; bytes = Array(String(i).utf8)
        case .double(let d):
            oid = PostgresOID.float8
            let text = d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : "\(d)"
            bytes = Array(text.utf8)
        case .decimal(let s): oid = PostgresOID.numeric; bytes = Array(s.utf8)
        // Untyped, so the server takes the column's type (text, varchar, json, jsonb).
        case .string(let s): oid = PostgresOID.unknown; bytes = Array(s.utf8)
        case .json(let s): oid = PostgresOID.unknown; bytes = Array(s.utf8)
        case .bytes(let b): oid = PostgresOID.bytea; bytes = b; isBinary = true
        case .timestamp(let t): oid = PostgresOID.timestamptz; bytes = Array((t.description + "+00").utf8)
        }
    }
}

/// Decodes libpq's text-format values by column type.
enum PostgresTextDecoder {
    static func decode(_ raw: UnsafeRawBufferPointer, oid: UInt32) -> SQLValue {
        switch oid {
        case PostgresOID.bool:
            return .bool(raw.first == UInt8(ascii: "t"))
        case PostgresOID.int8, PostgresOID.int4, PostgresOID.int2, PostgresOID.oid:
            return parseInt(raw).map(SQLValue.int) ?? .string(string(raw))
        case PostgresOID.float4, PostgresOID.float8:
            let s = string(raw)
            switch s {
            case "NaN": return .double(.nan)
            case "Infinity": return .double(.infinity)
            case "-Infinity": return .double(-.infinity)
            default: return Double(s).map(SQLValue.double) ?? .string(s)
            }
        case PostgresOID.numeric:
            return .decimal(string(raw))
        case PostgresOID.bytea:
            return .bytes(decodeHex(raw))
        case PostgresOID.timestamptz, PostgresOID.timestamp, PostgresOID.date:
            let s = string(raw)
            return SQLTimestamp(parsing: s).map(SQLValue.timestamp) ?? .string(s)
        case PostgresOID.json, PostgresOID.jsonb:
            return .json(string(raw))
        default:
            return .string(string(raw))
        }
    }

    private static func string(_ raw: UnsafeRawBufferPointer) -> String {
        String(decoding: raw, as: UTF8.self)
    }

    private static func parseInt(_ raw: UnsafeRawBufferPointer) -> Int64? {
        guard !raw.isEmpty else { return nil }
        var negative = false
        var i = 0
        if raw[0] == UInt8(ascii: "-") { negative = true; i = 1 }
        guard i < raw.count else { return nil }
        var value: Int64 = 0
        while i < raw.count {
            let d = raw[i] &- 48
            guard d < 10 else { return nil }
            // Accumulate negatively so Int64.min parses without overflow.
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            value = s
            i += 1
        }
        if negative { return value }
        return value == Int64.min ? nil : -value
    }

    /// bytea's hex output: `\x` then two hex digits a byte.
    private static func decodeHex(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        guard raw.count >= 2, raw[0] == UInt8(ascii: "\\"), raw[1] == UInt8(ascii: "x") else {
            return Array(raw)
        }
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: 0
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((raw.count - 2) / 2)
        var i = 2
        while i + 1 < raw.count {
            out.append(nibble(raw[i]) << 4 | nibble(raw[i + 1]))
            i += 2
        }
        return out
    }
}

/// SQLSTATE classes and codes to ``DatabaseError/Category``.
enum PostgresErrorMapping {
    static func category(sqlState: String, message: String) -> DatabaseError.Category {
        switch sqlState {
        case "23505": return .uniqueViolation
        case "23503": return .foreignKeyViolation
        case "23514": return .checkViolation
        case "23502": return .notNullViolation
        case "40P01": return .deadlock
        case "40001": return .serializationFailure
        case "55P03": return .lockTimeout
        case "42601": return .syntax
        case "42P01": return .undefinedTable
        case "42703": return .undefinedColumn
        // duplicate table, object (a table's row type among them), schema, column, function
        case "42P07", "42710", "42P06", "42701", "42723": return .duplicateObject
        case "28P01", "28000": return .authentication
        case "3D000": return .unknownDatabase
        case "57014":
            // statement_timeout and a cancel request share the code.
            return message.contains("statement timeout") ? .timeout : .canceled
        case "57P01", "57P02", "57P03": return .connectionLost
        default:
            if sqlState.hasPrefix("08") { return .connectionLost }
            if sqlState.hasPrefix("42") && message.contains("syntax") { return .syntax }
            return .other
        }
    }
}
