internal import CMariaDB
import StrataSQL

/// One result column: its name and how its values become ``SQLValue``s.
struct MySQLColumn {
    enum Kind: Equatable {
        case integer(unsigned: Bool)
        case float
        case double
        case decimal
        /// DATE, DATETIME, TIMESTAMP: an instant in UTC.
        case temporal
        /// TIME: a duration, kept as its text.
        case time
        /// BIT(n): `BIT(1)` is a bool, wider ones an integer.
        case bit(width: UInt)
        case json
        case text
        case binary
        case null
    }

    var name: String
    var kind: Kind
    var type: enum_field_types
    /// The declared width (characters × bytes per character, digits or bits).
    var declaredLength: UInt

    init(_ field: UnsafePointer<MYSQL_FIELD>) {
        let f = field.pointee
        name = f.name.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(f.name_length)), as: UTF8.self) } ?? ""
        type = f.type
        declaredLength = f.length
        switch f.type {
        case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
            kind = .integer(unsigned: f.flags & UInt32(UNSIGNED_FLAG) != 0)
        case MYSQL_TYPE_FLOAT: kind = .float
        case MYSQL_TYPE_DOUBLE: kind = .double
        case MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL: kind = .decimal
        case MYSQL_TYPE_DATE, MYSQL_TYPE_NEWDATE, MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP: kind = .temporal
        case MYSQL_TYPE_TIME: kind = .time
        case MYSQL_TYPE_BIT: kind = .bit(width: f.length)
        case MYSQL_TYPE_NULL: kind = .null
        case MYSQL_TYPE_JSON: kind = .json                 // MySQL 8
        case MYSQL_TYPE_GEOMETRY: kind = .binary
        default:
            // MariaDB sends JSON as LONGTEXT and names the format in its extended metadata.
            if Self.formatName(field) == "json" {
                kind = .json
            } else {
                kind = f.charsetnr == 63 ? .binary : .text   // 63: the `binary` character set
            }
        }
    }

    private static func formatName(_ field: UnsafePointer<MYSQL_FIELD>) -> String? {
        guard field.pointee.extension != nil else { return nil }
        var attr = MARIADB_CONST_STRING()
        guard mariadb_field_attr(&attr, field, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0, let str = attr.str, attr.length > 0 else {
            return nil
        }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: attr.length), as: UTF8.self)
    }

    /// A value of the text protocol.
    func decodeText(_ bytes: UnsafeRawBufferPointer) -> SQLValue {
        switch kind {
        case .binary: return .bytes(Array(bytes))
        case .bit: return bitValue(bytes)
        case .null: return .null
        default: break
        }
        let text = String(decoding: bytes, as: UTF8.self)
        switch kind {
        case .integer:
            if let i = Int64(text) { return .int(i) }
            return .decimal(text)                          // BIGINT UNSIGNED above Int64.max
        case .float, .double: return Double(text).map(SQLValue.double) ?? .string(text)
        case .decimal: return .decimal(text)
        case .temporal: return SQLTimestamp(parsing: text).map(SQLValue.timestamp) ?? .string(text)
        case .json: return .json(text)
        case .time, .text, .binary, .bit, .null: return .string(text)
        }
    }

    /// A `BIT(n)` value: big-endian bytes.
    func bitValue(_ bytes: UnsafeRawBufferPointer) -> SQLValue {
        var value: UInt64 = 0
        for byte in bytes.suffix(8) { value = value << 8 | UInt64(byte) }
        if case .bit(let width) = kind, width == 1 { return .bool(value != 0) }
        return value <= UInt64(Int64.max) ? .int(Int64(value)) : .decimal(String(value))
    }
}
