import Foundation

/// A Swift type that converts to and from ``SQLValue``.
///
/// Decoding is lenient where the backends differ in how they report a type (MySQL
/// returns `BOOLEAN` as an integer, `JSON` as text, `BIGINT` sums as decimals) and strict
/// where a conversion would lose information.
public protocol SQLValueConvertible: Sendable {
    var sqlValue: SQLValue { get }
    /// - Throws: ``RowDecodingError`` when the value cannot become this type.
    init(sqlValue: SQLValue) throws
}

/// Why a column could not be read as the requested type.
///
/// The same error comes from ``Row/decode(_:as:)`` and from a whole value read with
/// ``Row/decode(_:)``; the latter also names the type being decoded:
///
/// ```
/// column 'price_minor': string value cannot be read as Int64 (decoding Plan)
/// ```
public struct RowDecodingError: Error, CustomStringConvertible, Sendable {
    /// The column; empty when the row as a whole cannot be the type (``Row/decode(_:)``
    /// of a type that is not keyed).
    public var column: String
    public var message: String
    /// The `Decodable` type the column was read for, or `nil` for a single column read.
    public var type: String?

    public init(column: String, message: String, type: String? = nil) {
        self.column = column
        self.message = message
        self.type = type
    }

    public var description: String {
        let text = column.isEmpty ? message : "column '\(column)': \(message)"
        return type.map { "\(text) (decoding \($0))" } ?? text
    }

    /// A column the result does not have.
    static func missing(_ column: String, in columns: ColumnIndex, type: Any.Type? = nil) -> RowDecodingError {
        RowDecodingError(column: column, message: "no such column in the result (columns: \(columns.names.joined(separator: ", ")))",
                         type: type.map { String(describing: $0) })
    }

    /// A value that is not of the requested type.
    init(column: String, mismatch: ValueMismatch, type: Any.Type? = nil) {
        self.init(column: column, message: "\(mismatch.found.kindName) value cannot be read as \(mismatch.expected)",
                  type: type.map { String(describing: $0) })
    }
}

struct ValueMismatch: Error {
    var expected: String
    var found: SQLValue
}

extension Int64: SQLValueConvertible {
    public var sqlValue: SQLValue { .int(self) }
    public init(sqlValue v: SQLValue) throws {
        switch v {
        case .int(let i): self = i
        case .bool(let b): self = b ? 1 : 0
        case .decimal(let s), .string(let s):
            guard let i = Int64(s) else { throw ValueMismatch(expected: "Int64", found: v) }
            self = i
        case .double(let d):
            guard d.rounded() == d, let i = Int64(exactly: d) else { throw ValueMismatch(expected: "Int64", found: v) }
            self = i
        default: throw ValueMismatch(expected: "Int64", found: v)
        }
    }
}

extension Int: SQLValueConvertible {
    public var sqlValue: SQLValue { .int(Int64(self)) }
    public init(sqlValue v: SQLValue) throws {
        self = Int(try Int64(sqlValue: v))
    }
}

extension Int32: SQLValueConvertible {
    public var sqlValue: SQLValue { .int(Int64(self)) }
    public init(sqlValue v: SQLValue) throws {
        guard let i = Int32(exactly: try Int64(sqlValue: v)) else { throw ValueMismatch(expected: "Int32", found: v) }
        self = i
    }
}

extension Bool: SQLValueConvertible {
    public var sqlValue: SQLValue { .bool(self) }
    public init(sqlValue v: SQLValue) throws {
        switch v {
        case .bool(let b): self = b
        case .int(let i) where i == 0 || i == 1: self = i == 1
        case .string(let s) where s == "t" || s == "f" || s == "1" || s == "0": self = s == "t" || s == "1"
        default: throw ValueMismatch(expected: "Bool", found: v)
        }
    }
}

extension Double: SQLValueConvertible {
    public var sqlValue: SQLValue { .double(self) }
    public init(sqlValue v: SQLValue) throws {
        switch v {
        case .double(let d): self = d
        case .int(let i): self = Double(i)
        case .decimal(let s):
            guard let d = Double(s) else { throw ValueMismatch(expected: "Double", found: v) }
            self = d
        default: throw ValueMismatch(expected: "Double", found: v)
        }
    }
}

extension String: SQLValueConvertible {
    public var sqlValue: SQLValue { .string(self) }
    public init(sqlValue v: SQLValue) throws {
        switch v {
        case .string(let s), .json(let s), .decimal(let s): self = s
        case .bytes(let b):
            guard let s = String(validating: b, as: UTF8.self) else { throw ValueMismatch(expected: "String", found: v) }
            self = s
        default: throw ValueMismatch(expected: "String", found: v)
        }
    }
}

extension Array: SQLValueConvertible where Element == UInt8 {
    public var sqlValue: SQLValue { .bytes(self) }
    public init(sqlValue v: SQLValue) throws {
        switch v {
        case .bytes(let b): self = b
        case .string(let s): self = Array(s.utf8)
        default: throw ValueMismatch(expected: "bytes", found: v)
        }
    }
}

extension SQLTimestamp: SQLValueConvertible {
    public var sqlValue: SQLValue { .timestamp(self) }
    public init(sqlValue v: SQLValue) throws {
        switch v {
        case .timestamp(let t): self = t
        case .string(let s):
            guard let t = SQLTimestamp(parsing: s) else { throw ValueMismatch(expected: "timestamp", found: v) }
            self = t
        default: throw ValueMismatch(expected: "timestamp", found: v)
        }
    }
}

extension Date: SQLValueConvertible {
    public var sqlValue: SQLValue { .timestamp(SQLTimestamp(self)) }
    public init(sqlValue v: SQLValue) throws {
        self = try SQLTimestamp(sqlValue: v).date
    }
}

extension SQLValue: SQLValueConvertible {
    public var sqlValue: SQLValue { self }
    public init(sqlValue v: SQLValue) throws { self = v }
}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
    public init(sqlValue v: SQLValue) throws {
        self = v.isNull ? nil : try Wrapped(sqlValue: v)
    }
}

/// A JSON document to bind as JSON (`jsonb` / `JSON`), given as its text.
public struct SQLJSON: SQLValueConvertible, Hashable {
    public var text: String
    public init(_ text: String) { self.text = text }

    /// Encodes an `Encodable` value with sorted keys.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public var sqlValue: SQLValue { .json(text) }
    public init(sqlValue v: SQLValue) throws {
        switch v {
        case .json(let s), .string(let s): text = s
        case .bytes(let b): text = String(decoding: b, as: UTF8.self)
        default: throw ValueMismatch(expected: "JSON", found: v)
        }
    }

    /// Decodes the document into a `Decodable` type.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
