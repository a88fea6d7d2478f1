/// What differs between the SQL of two backends, said once.
///
/// Services and the migration engine write SQL that both servers accept and ask the
/// dialect for the rest: placeholders, identifier quoting, whether DDL is
/// transactional, the upsert form, `RETURNING`, row-locking clauses and named locks.
/// Each requirement below documents its default; a dialect overrides what differs.
public protocol SQLDialect: Sendable {
    /// The backend, also the name of its migrations folder (`postgres`, `mysql`).
    var backend: DatabaseURL.Backend { get }

    /// The placeholder for the bind at a 1-based position. Default: `?`.
    func placeholder(_ position: Int) -> String

    /// The character that opens and closes a quoted identifier. Default: `"`.
    var identifierQuote: Character { get }

    /// Validates and quotes an identifier, which may be `schema.table`.
    ///
    /// Default: accepts `[A-Za-z_][A-Za-z0-9_]*` parts of at most 63 characters and
    /// quotes each with ``identifierQuote``.
    /// - Throws: ``DatabaseError`` `.invalidIdentifier`.
    func quoteIdentifier(_ name: String) throws -> String

    /// Whether DDL runs inside a transaction and rolls back with it. Default: `false`.
    var supportsTransactionalDDL: Bool { get }

    /// A query that answers, in a column `n`, the largest statement in bytes that the
    /// server accepts, where it has such a limit below its other ones; `nil` otherwise.
    /// Default: `nil`.
    var maxStatementBytesQuery: SQLQuery? { get }

    /// Whether `INSERT … RETURNING` exists. Default: `false`.
    var supportsReturning: Bool { get }

    /// The clause that locks selected rows and skips rows locked by others.
    /// Default: `FOR UPDATE SKIP LOCKED` (PostgreSQL 9.5+, MySQL 8, MariaDB 10.6+).
    var forUpdateSkipLocked: String { get }

    /// Whether a row lock (`FOR UPDATE`) keeps every other writer of the row waiting, as
    /// on one server; `false` on a node of a multi-writer cluster (Galera), where it holds
    /// only against this node's transactions and a writer on another node is stopped by
    /// certification at its commit instead. Code that spreads its claims when locks do not
    /// (the webhook workers) asks this, so that it never tests the topology itself.
    /// Default: `true`.
    var rowLocksHoldClusterWide: Bool { get }

    /// The clause that locks the rows a join reads from the table named `alias`, so the
    /// joined rows of the other tables can be read without locks where the backend can
    /// say so. Default: `FOR UPDATE`, which on MariaDB locks every row the statement
    /// reads (keep the other tables' rows to ones the lock holder owns anyway).
    func forUpdate(of alias: String) -> String

    /// The clause that turns an `INSERT` into an upsert on a unique key.
    ///
    /// Appended after the `VALUES (…)` list. An empty `updating` list means "do nothing
    /// on conflict". Default: PostgreSQL's
    /// `ON CONFLICT (keys) DO UPDATE SET c = EXCLUDED.c` / `DO NOTHING`.
    func upsertClause(conflictColumns: [String], updating: [String]) throws -> String

    /// The type name of a column of Strata's own tables (history, locks).
    /// Default: PostgreSQL's names (`BIGINT`, `TIMESTAMPTZ`, `JSONB`, `TEXT`, …).
    func columnType(_ type: SQLColumnType) -> String

    /// The SQL expression naming the schema `information_schema.tables.table_schema` holds
    /// for the current database. Default: `current_schema()`.
    var currentSchemaExpression: String { get }

    /// Statements that give a migration run's session the settings the server gives
    /// its own command-line client, undoing those the driver set for the services.
    ///
    /// A migration folder is written for the database's own client (`psql`, `mariadb`),
    /// under the server's configured defaults: a `DEFAULT '0000-00-00'` that the server's
    /// `sql_mode` accepts must not fail because the services' session is stricter. The
    /// migration runner sends these on its connection before the first migration and
    /// retires the connection after the run, so the services never see that session.
    /// Default: none (the driver's session is the server's).
    var migrationSessionSetup: [String] { get }

    /// Suffix for `CREATE TABLE (…)`: engine and character set. Default: empty.
    var createTableSuffix: String { get }

    /// Reads schemas from the catalogue, for `verify` and `parity`.
    var schemaInspector: any SchemaInspector { get }

    /// A statement that tries once to take a session-level named lock and returns one
    /// row with a column `acquired` (true or 1 when taken). No default.
    func tryLockQuery(name: String) -> SQLQuery

    /// A statement that releases a lock taken by ``tryLockQuery(name:)``. No default.
    func releaseLockQuery(name: String) -> SQLQuery

    /// A statement that answers, in a column `pid`, the server session that holds the
    /// lock of ``tryLockQuery(name:)`` (no row, or `NULL`, when none does); `nil` where
    /// the server cannot tell cheaply. Default: `nil`.
    func lockHolderQuery(name: String) -> SQLQuery?

    /// A statement that tries once, inside a transaction, to take a named lock that the
    /// server releases when the transaction ends, answering in a column `acquired`; `nil`
    /// where the server has none. Such a lock holds behind a transaction pooler, where a
    /// session lock does not. Default: `nil`.
    func tryTransactionLockQuery(name: String) -> SQLQuery?

    /// The server's clock, `after` from now, as a UTC instant with microseconds that a
    /// ``SQLColumnType/timestamp`` column stores and compares: for leases that clients on
    /// several machines must judge by one clock. The clock is read when the statement
    /// runs, not when its transaction began.
    /// Default: PostgreSQL's `clock_timestamp() + make_interval(secs => after)`.
    func serverTime(after: Duration) -> SQLQuery
}

extension SQLDialect {
    public func placeholder(_ position: Int) -> String { "?" }
    public var identifierQuote: Character { "\"" }
    public var supportsTransactionalDDL: Bool { false }
    public var supportsReturning: Bool { false }
    public var maxStatementBytesQuery: SQLQuery? { nil }
    public var forUpdateSkipLocked: String { "FOR UPDATE SKIP LOCKED" }
    public var rowLocksHoldClusterWide: Bool { true }
    public func forUpdate(of alias: String) -> String { "FOR UPDATE" }
    public var createTableSuffix: String { "" }
    public var migrationSessionSetup: [String] { [] }
    public var currentSchemaExpression: String { "current_schema()" }
    public func lockHolderQuery(name: String) -> SQLQuery? { nil }
    public func tryTransactionLockQuery(name: String) -> SQLQuery? { nil }

    public func serverTime(after: Duration) -> SQLQuery {
        after == .zero ? "clock_timestamp()" : "(clock_timestamp() + make_interval(secs => \(after.seconds)))"
    }

    public func columnType(_ type: SQLColumnType) -> String {
        switch type {
        case .bigint: "BIGINT"
        case .integer: "INTEGER"
        case .boolean: "BOOLEAN"
        case .varchar(let n): "VARCHAR(\(n))"
        case .longText: "TEXT"
        case .timestamp: "TIMESTAMPTZ"
        case .json: "JSONB"
        case .decimal20: "NUMERIC(20,0)"
        }
    }

    public func quoteIdentifier(_ name: String) throws -> String {
        // `name` or `schema.name`, built in one string: every statement that names an
        // identifier quotes it each time it is rendered, so no arrays of a split here.
        let dot = name.utf8.firstIndex(of: UInt8(ascii: "."))
        let first = dot.map { name[..<$0] } ?? name[...]
        let second = dot.map { name[name.utf8.index(after: $0)...] }
        if let second, second.utf8.contains(UInt8(ascii: ".")) {
            throw DatabaseError(.invalidIdentifier, message: "invalid identifier '\(name)'")
        }
        guard Self.isPlainIdentifier(first), second.map(Self.isPlainIdentifier) ?? true else {
            throw DatabaseError(.invalidIdentifier, message: "invalid identifier '\(name)': use letters, digits and underscores, starting with a letter or underscore, at most 63 characters")
        }
        var quoted = ""
        quoted.reserveCapacity(name.utf8.count + 4)
        quoted.append(identifierQuote)
        quoted += first
        quoted.append(identifierQuote)
        if let second {
            quoted += "."
            quoted.append(identifierQuote)
            quoted += second
            quoted.append(identifierQuote)
        }
        return quoted
    }

    public func upsertClause(conflictColumns: [String], updating: [String]) throws -> String {
        let keys = try conflictColumns.map { try quoteIdentifier($0) }.joined(separator: ", ")
        if updating.isEmpty { return "ON CONFLICT (\(keys)) DO NOTHING" }
        let sets = try updating.map { c -> String in
            let q = try quoteIdentifier(c)
            return "\(q) = EXCLUDED.\(q)"
        }
        return "ON CONFLICT (\(keys)) DO UPDATE SET " + sets.joined(separator: ", ")
    }

    static func isPlainIdentifier(_ s: Substring) -> Bool {
        // ASCII letters, digits and `_`: any other character has a byte above 0x7F.
        let bytes = s.utf8
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        func letter(_ b: UInt8) -> Bool {
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || b == UInt8(ascii: "_")
        }
        return letter(first) && bytes.allSatisfy { letter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
    }
}

/// Column types that Strata's own tables need, named per dialect.
public enum SQLColumnType: Sendable, Hashable {
    case bigint
    case integer
    case boolean
    case varchar(Int)
    /// Text with no practical length limit.
    case longText
    /// A UTC instant with microseconds.
    case timestamp
    case json
    /// An integer of up to 20 decimal digits (migration versions).
    case decimal20
}

/// Reads a database's schema from its catalogue (not from dump text), so two schemas can
/// be compared: before and after a migration, or one dialect against the other.
public protocol SchemaInspector: Sendable {
    /// The tables of the connection's current database/schema, except those in `excluding`.
    func snapshot(_ conn: any SQLConnection, excluding: Set<String>) throws -> SchemaSnapshot
}
