/// An error from the database or the driver, matchable by category and server code.
///
/// `description` is one line: category, server code and message. It never contains
/// bound values or passwords. `debugDescription` adds the failing SQL text (still
/// without binds).
///
/// ```swift
/// do { try conn.execute(insert) }
/// catch let e as DatabaseError where e.category == .uniqueViolation { … }
/// ```
public struct DatabaseError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Category: String, Sendable, Hashable, CaseIterable {
        case uniqueViolation = "unique violation"
        case foreignKeyViolation = "foreign key violation"
        case checkViolation = "check violation"
        case notNullViolation = "not-null violation"
        case deadlock
        case serializationFailure = "serialization failure"
        case lockTimeout = "lock timeout"
        case syntax = "syntax error"
        case undefinedTable = "undefined table"
        case undefinedColumn = "undefined column"
        /// A table, type, column, index or schema of that name already exists.
        case duplicateObject = "object already exists"
        case connectionRefused = "connection refused"
        case connectionLost = "connection lost"
        case authentication = "authentication failed"
        case unknownDatabase = "unknown database"
        case timeout
        case canceled
        case invalidURL = "invalid URL"
        case invalidIdentifier = "invalid identifier"
        case poolClosed = "pool closed"
        case other
    }

    public var category: Category
    /// The server's SQLSTATE (PostgreSQL) or errno (MySQL), when the server sent one.
    public var code: String?
    public var message: String
    /// The statement that failed, without its binds.
    public var sql: String?

    public init(_ category: Category, code: String? = nil, message: String, sql: String? = nil) {
        self.category = category
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// Whether running the whole transaction again may succeed.
    public var isRetryable: Bool {
        category == .deadlock || category == .serializationFailure
    }

    public var description: String {
        let oneLine = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        if let code { return "\(category.rawValue) [\(code)]: \(oneLine)" }
        return "\(category.rawValue): \(oneLine)"
    }

    public var debugDescription: String {
        guard let sql else { return description }
        return description + " (SQL: \(sql))"
    }
}

import Foundation
