/// One result row: values in column order, with typed access by column name.
///
/// ```swift
/// let balance: Int64 = try row.decode("balance")
/// let note: String? = try row.decode("note")
/// let plan = try row.decode(Plan.self)   // a Decodable, one property a column
/// ```
public struct Row: Sendable, CustomStringConvertible {
    public let columns: ColumnIndex
    public let values: [SQLValue]

    public init(columns: ColumnIndex, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The raw value of a column, or `nil` when the row has no such column.
    public subscript(_ column: String) -> SQLValue? {
        columns.index(of: column).map { values[$0] }
    }

    /// Reads a column as `T`.
    ///
    /// - Throws: ``RowDecodingError`` for a missing column, or a value that is not a `T`
    ///   (a NULL read as a non-optional type included).
    public func decode<T: SQLValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let i = columns.index(of: column) else {
            throw RowDecodingError.missing(column, in: columns)
        }
        do {
            return try T(sqlValue: values[i])
        } catch let mismatch as ValueMismatch {
            throw RowDecodingError(column: column, mismatch: mismatch)
        }
    }

    public var description: String {
        zip(columns.names, values).map { "\($0)=\($1)" }.joined(separator: " ")
    }
}

/// Column names of a result, shared by all its rows.
public final class ColumnIndex: Sendable {
    public let names: [String]
    private let positions: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (i, n) in names.enumerated() where positions[n] == nil {
            positions[n] = i
        }
        self.positions = positions
    }

    public func index(of name: String) -> Int? {
        // A few names are found faster by comparing than by hashing.
        if names.count <= Self.scanLimit {
            if let i = names.firstIndex(of: name) { return i }
        } else if let i = positions[name] {
            return i
        }
        let lowered = name.lowercased()
        return positions.first { $0.key.lowercased() == lowered }?.value
    }

    /// Up to this many columns, a name is looked up by scanning ``names``.
    private static let scanLimit = 8
}

/// What a statement returned: its rows, the rows it affected, and the id it generated.
public struct QueryResult: Sendable {
    public var rows: [Row]
    /// Rows changed (MySQL counts matched rows, as PostgreSQL does).
    public var rowsAffected: Int64
    /// The `AUTO_INCREMENT` id of the last insert (MySQL); `nil` where the backend has none.
    public var lastInsertID: Int64?

    public init(rows: [Row] = [], rowsAffected: Int64 = 0, lastInsertID: Int64? = nil) {
        self.rows = rows
        self.rowsAffected = rowsAffected
        self.lastInsertID = lastInsertID
    }
}
