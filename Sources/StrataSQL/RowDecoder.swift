import Foundation

extension Row {
    /// Reads the whole row as a `Decodable` value, one property a column.
    ///
    /// Each coding key's `stringValue` is a column name, matched as ``decode(_:as:)``
    /// matches it: declare `CodingKeys` with the columns' snake_case names (there is no
    /// key strategy, so the mapping is written down next to the model). Every column is
    /// read by the type's ``SQLValueConvertible`` conversion, the same one
    /// ``decode(_:as:)`` uses, so the backends' differences are absorbed the same way
    /// (MySQL's `TINYINT` booleans, timestamps, `JSON` as text, decimal sums).
    ///
    /// - A NULL column reads as `nil` for an optional property and is an error otherwise.
    /// - A column missing from the result is an error, for an optional property too: a
    ///   misspelt key or a column left out of the `SELECT` must not read as `nil`.
    /// - A type that is not ``SQLValueConvertible`` is decoded from the column's single
    ///   value (a `String` or `Int` `RawRepresentable` enum, a wrapper that decodes
    ///   through `singleValueContainer()`), and `Data` reads like `[UInt8]`. Lists and
    ///   nested keyed values cannot be read from one column.
    ///
    /// ```swift
    /// extension Plan: Decodable {
    ///     enum CodingKeys: String, CodingKey {
    ///         case id, code, name, currency, features, active
    ///         case priceMinor = "price_minor", interval = "billing_interval"
    ///         case includedCredits = "included_credits", usageLimit = "usage_limit"
    ///     }
    /// }
    /// let plans = try conn.query("SELECT \(Plan.columns) FROM plans").map { try $0.decode(Plan.self) }
    /// ```
    ///
    /// - Throws: ``RowDecodingError`` naming the column and `T`: the same message as
    ///   ``decode(_:as:)`` for a missing column or a value of the wrong type; for a value
    ///   the type itself rejects (an unknown enum raw value), the type's reason.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: RowDecoder(row: self, model: T.self))
    }
}

/// Decodes a row, keyed by column name. See ``Row/decode(_:)``.
struct RowDecoder: Decoder {
    let row: Row
    /// The type ``Row/decode(_:)`` was asked for, named by errors.
    let model: any Any.Type

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer(row: row, model: model))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw RowDecodingError(column: "", message: "a row decodes as a keyed value, not as a list", type: String(describing: model))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw RowDecodingError(column: "", message: "a row decodes as a keyed value, not as a single value: read one column with decode(_:as:)",
                               type: String(describing: model))
    }
}

/// The columns of a row, by name.
private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: Row
    let model: any Any.Type

    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.columns.names.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool {
        row.columns.index(of: key.stringValue) != nil
    }

    /// The column's value, or the error ``Row/decode(_:as:)`` gives for a missing column.
    private func column(_ key: Key) throws -> ColumnValue {
        let name = key.stringValue
        guard let i = row.columns.index(of: name) else {
            throw RowDecodingError.missing(name, in: row.columns, type: model)
        }
        return ColumnValue(value: row.values[i], column: name, model: model)
    }

    /// `nil` for NULL; a missing column is an error here too (see ``Row/decode(_:)``).
    private func present(_ key: Key) throws -> ColumnValue? {
        let value = try column(key)
        return value.value.isNull ? nil : value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try column(key).value.isNull }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try column(key).read(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try column(key).read(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try column(key).read(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try column(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try column(key).read(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try column(key).integer(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try column(key).integer(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try column(key).read(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try column(key).read(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try column(key).integer(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try column(key).integer(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try column(key).integer(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try column(key).integer(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try column(key).integer(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try column(key).decode(type) }

    // The defaults read a missing column as nil: each is replaced so it is an error.
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key)?.read(type) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key)?.read(type) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key)?.read(type) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key)?.read(type) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try present(key)?.integer(type) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try present(key)?.integer(type) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present(key)?.read(type) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key)?.read(type) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try present(key)?.integer(type) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try present(key)?.integer(type) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try present(key)?.integer(type) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try present(key)?.integer(type) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present(key)?.integer(type) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try present(key)?.decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw try column(key).unsupported("a nested keyed value")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw try column(key).unsupported("a list")
    }

    func superDecoder() throws -> any Decoder { RowDecoder(row: row, model: model) }
    func superDecoder(forKey key: Key) throws -> any Decoder { try column(key) }
}

/// One column's value: how every property is read, and the decoder of a property whose
/// type decodes from a single value.
private struct ColumnValue: Decoder, SingleValueDecodingContainer {
    let value: SQLValue
    let column: String
    let model: any Any.Type

    var codingPath: [any CodingKey] { [ColumnKey(stringValue: column)] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Reads the value as `T`, with ``Row/decode(_:as:)``'s message when it is not one.
    @inline(__always)
    func read<T: SQLValueConvertible>(_ type: T.Type) throws -> T {
        do {
            return try T(sqlValue: value)
        } catch let mismatch as ValueMismatch {
            throw RowDecodingError(column: column, mismatch: mismatch, type: model)
        }
    }

    /// Reads an integer as `Int64`, then as `T` when it fits.
    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let i = T(exactly: try read(Int64.self)) else {
            throw RowDecodingError(column: column, mismatch: ValueMismatch(expected: "\(T.self)", found: value), type: model)
        }
        return i
    }

    func unsupported(_ shape: String) -> RowDecodingError {
        RowDecodingError(column: column, message: "a column holds one \(value.kindName) value and cannot be read as \(shape)",
                         type: String(describing: model))
    }

    // Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw unsupported("a keyed value")
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw unsupported("a list")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // SingleValueDecodingContainer

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try read(type) }
    func decode(_ type: String.Type) throws -> String { try read(type) }
    func decode(_ type: Double.Type) throws -> Double { try read(type) }
    func decode(_ type: Int.Type) throws -> Int { try read(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try read(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try read(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode(_ type: Float.Type) throws -> Float {
        let d = try read(Double.self)
        guard let f = Float(exactly: d) else {
            throw RowDecodingError(column: column, mismatch: ValueMismatch(expected: "Float", found: value), type: model)
        }
        return f
    }

    /// A ``SQLValueConvertible`` type by its conversion, `Data` as bytes, anything else
    /// by its own `init(from:)` over this single value.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // Timestamps are most of what comes here: checked before the conformance lookup.
        if T.self == SQLTimestamp.self {
            return try read(SQLTimestamp.self) as! T
        }
        if let convertible = T.self as? any SQLValueConvertible.Type {
            return try read(convertible) as! T
        }
        if T.self == Data.self {
            return Data(try read([UInt8].self)) as! T
        }
        do {
            return try T(from: self)
        } catch let error as DecodingError {
            // The type's own refusal (an enum's unknown raw value): keep its reason, add the column.
            throw RowDecodingError(column: column, message: error.reason, type: String(describing: model))
        }
    }
}

private struct ColumnKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension DecodingError {
    /// The context's description, without the coding path (the column says where).
    fileprivate var reason: String {
        switch self {
        case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c): c.debugDescription
        @unknown default: "\(self)"
        }
    }
}
