import Logging

/// One open connection to a server, used by one thread at a time.
///
/// A connection is not `Sendable`: ``Database`` leases it to one closure that runs on
/// the connection's own thread, so its C handle is only ever touched from there.
/// Drivers implement the two requirements; everything else is built on them.
public protocol SQLConnection: AnyObject {
    var dialect: any SQLDialect { get }

    /// Runs one statement; every value in `query` is sent as a bind.
    ///
    /// - Throws: ``DatabaseError``.
    @discardableResult
    func execute(_ query: SQLQuery) throws -> QueryResult

    /// The first row of a query, or `nil`; the statement runs whole, as with
    /// ``execute(_:)``. A driver may build only that row; the default takes the first
    /// of `execute`'s rows.
    ///
    /// - Throws: ``DatabaseError``.
    func queryFirst(_ query: SQLQuery) throws -> Row?

    /// Runs one statement of SQL text with no binds through the backend's plain text
    /// protocol: migration files, DDL, `BEGIN`/`COMMIT`.
    ///
    /// - Throws: ``DatabaseError``.
    @discardableResult
    func executeUnprepared(_ sql: String) throws -> QueryResult

    /// Whether the connection can no longer be used (lost, or left in an unknown state).
    var isBroken: Bool { get }

    /// Starts a transaction: `BEGIN`, or a promise of it.
    ///
    /// A driver may hold `BEGIN` back and send it with the transaction's first
    /// statement, in one round trip; a transaction that runs no statement then costs
    /// none. The default sends `BEGIN` at once.
    ///
    /// - Throws: ``DatabaseError``.
    func beginTransaction() throws

    /// Runs a statement of the open transaction whose result the caller does not need.
    ///
    /// A driver may hold it back and send it with the transaction's next statement or
    /// with `COMMIT`, in one round trip; an error it raises is then thrown by that call,
    /// and the transaction fails as it would have. Outside a transaction, and by
    /// default, it runs at once.
    ///
    /// - Throws: ``DatabaseError``.
    func executeDeferred(_ query: SQLQuery) throws

    /// Commits the transaction ``beginTransaction()`` started. The default sends `COMMIT`.
    ///
    /// - Throws: ``DatabaseError``.
    func commitTransaction() throws

    /// Rolls back the transaction ``beginTransaction()`` started. The default sends `ROLLBACK`.
    ///
    /// - Throws: ``DatabaseError``.
    func rollbackTransaction() throws

    /// Something other threads may call to cancel the statement running now, where the
    /// client library allows it.
    func makeCanceller() -> (any SQLCanceller)?

    /// Whether a statement notices by itself, while it waits for the server, that the
    /// task running it on this thread was cancelled, and then cancels itself (within a
    /// fraction of a second). The pool then needs no cancellation handler for a task
    /// that runs its statements in place. `false` by default.
    var noticesTaskCancellation: Bool { get }

    /// Closes the connection and frees its handle. Safe to call twice.
    func close()

    /// Where the connection stands: straight on one server, behind a transaction pooler,
    /// or on a node of a multi-writer cluster. The driver may ask the server (one short
    /// query). Default: ``ConnectionTopology/singleServer``.
    ///
    /// - Throws: ``DatabaseError`` from the query that tells.
    func topology() throws -> ConnectionTopology
}

/// Cancels the statement a connection is running, from any thread.
public protocol SQLCanceller: Sendable {
    /// Cancels the running statement; a driver whose server drops a cancel that lands
    /// between two statements may keep it requested for the statements that follow.
    func cancel()

    /// The lease that called ``cancel()`` is over: what it requested no longer applies.
    /// Nothing by default.
    func forget()
}

extension SQLCanceller {
    public func forget() {}
}

extension SQLConnection {
    public func beginTransaction() throws { try executeUnprepared("BEGIN") }
    public func executeDeferred(_ query: SQLQuery) throws { try execute(query) }
    public func commitTransaction() throws { try executeUnprepared("COMMIT") }
    public func rollbackTransaction() throws { try executeUnprepared("ROLLBACK") }
    public var noticesTaskCancellation: Bool { false }
    public func topology() throws -> ConnectionTopology { .singleServer }

    /// Runs `body` in one transaction on this connection: commits when it returns, rolls
    /// back when it (or the commit) throws, and rethrows. No retry: that is
    /// ``Database/transaction(alsoRetrying:_:)``'s, which leases the connection too.
    ///
    /// ```swift
    /// try conn.inTransaction {
    ///     try conn.execute("UPDATE schema_history SET state = 'applied' WHERE version = \(version)")
    ///     try conn.execute("DELETE FROM schema_history_statements WHERE version = \(version)")
    /// }
    /// ```
    public func inTransaction<T>(_ body: () throws -> T) throws -> T {
        try beginTransaction()
        do {
            let value = try body()
            try commitTransaction()
            return value
        } catch {
            // A connection that broke is closed by its pool; the server rolls back.
            if !isBroken { _ = try? rollbackTransaction() }
            throw error
        }
    }

    /// The rows of a query.
    public func query(_ query: SQLQuery) throws -> [Row] {
        try execute(query).rows
    }

    public func queryFirst(_ query: SQLQuery) throws -> Row? {
        try execute(query).rows.first
    }

    /// Runs an `INSERT` and returns the generated id of column `idColumn`, with
    /// `RETURNING` where the dialect has it and the last insert id where it does not.
    public func insertReturningID(_ query: SQLQuery, idColumn: String = "id") throws -> Int64 {
        if dialect.supportsReturning {
            let q = query + "\(unsafeRaw: " RETURNING ")\(identifier: idColumn)"
            guard let row = try execute(q).rows.first else {
                throw DatabaseError(.other, message: "INSERT … RETURNING returned no row", sql: query.description)
            }
            return try row.decode(idColumn)
        }
        guard let id = try execute(query).lastInsertID else {
            throw DatabaseError(.other, message: "INSERT generated no id", sql: query.description)
        }
        return id
    }

    /// Runs an insert that may do nothing on a duplicate key; returns the new row's id,
    /// or `nil` when no row was inserted.
    ///
    /// Rows affected cannot tell the two apart on MySQL: with `CLIENT_FOUND_ROWS` (which
    /// the driver sets so that updates count matched rows, as on PostgreSQL) a no-op
    /// `ON DUPLICATE KEY UPDATE` reports 1, as an insert does. A generated id can:
    /// `RETURNING id` returns no row after `DO NOTHING`, and MySQL reports no insert id
    /// when nothing was inserted.
    public func insertedID(_ insert: SQLQuery) throws -> Int64? {
        if dialect.supportsReturning {
            return try execute(insert + " RETURNING id").rows.first?.decode("id")
        }
        guard let id = try execute(insert).lastInsertID, id > 0 else { return nil }
        return id
    }

    /// Tries once to take a named lock: a session-level one, or with `scope`
    /// `.transaction` one the server releases at the end of the open transaction.
    public func tryLock(name: String, scope: LockScope = .session) throws -> Bool {
        let query: SQLQuery
        switch scope {
        case .session:
            query = dialect.tryLockQuery(name: name)
        case .transaction:
            guard let q = dialect.tryTransactionLockQuery(name: name) else {
                throw DatabaseError(.other, message: "\(dialect.backend.rawValue) has no transaction-level named lock")
            }
            query = q
        }
        guard let row = try execute(query).rows.first else { return false }
        return (try? row.decode("acquired", as: Bool.self)) ?? false
    }

    /// Releases a named lock taken by ``tryLock(name:)``.
    public func releaseLock(name: String) throws {
        try execute(dialect.releaseLockQuery(name: name))
    }
}
