import Foundation
import Logging
import StrataSQL

/// A migration lock that is a row in `strata_migration_lock`: insert to take, delete to
/// release, with a lease the run renews.
///
/// It holds where a session lock does not: on a Galera node an insert of one key on two
/// nodes has exactly one winner (the loser gets a duplicate key, or a certification
/// conflict), and through a transaction pooler each statement is a transaction of its
/// own. Nothing here relies on `SELECT … FOR UPDATE` or `GET_LOCK`.
///
/// - The row names the run: `owner` (a random token per run), `host`, `pid`,
///   `taken_at`, `expires_at`, and `writes` (how many history writes it fenced).
/// - Times are the **server's** clock (``SQLDialect/serverTime(after:)``, UTC): every
///   client compares a lease against the same clock, whatever its own says.
/// - A run renews `expires_at` every third of the lease, on a connection of its own,
///   with an update conditional on its token; an update that finds no row of its token
///   means another run took the lock over, and the run stops before its next statement.
/// - A waiter polls with a growing pause (20 ms up to 500 ms) until `--lock-timeout`.
///   A row whose lease ended is taken over with one update conditional on exactly that
///   row (its owner and an `expires_at` in the past): of two waiters, one matches it.
///   The takeover is written to `strata_lock_events`.
/// - Fencing: every write to the history confirms, in the write's own transaction, that
///   the row still has this run's token, by bumping `writes` (``confirmHeld(_:)``).
///   Being a write of the lock row, it conflicts with a takeover on any node; a run whose
///   lock was taken over cannot write to the history afterwards.
///
/// ```swift
/// let lock = TableMigrationLock(name: "strata:billing:strata_schema_history", dialect: db.dialect)
/// try lock.acquire(conn, timeout: .seconds(60), onWait: {}, isCancelled: { false })
/// defer { lock.release(conn) }
/// ```
public struct TableMigrationLock: MigrationLock {
    /// The table of lock rows, one per lock name.
    public static let table = "strata_migration_lock"
    /// The lease when none is given: long enough for a starved machine to renew in time.
    public static let defaultLease: Duration = .seconds(30)

    public let name: String
    /// This run's token: the row that carries it is this run's lock.
    public let owner: String
    public let host: String
    public let pid: Int64
    let leaseDuration: Duration
    let dialect: any SQLDialect
    let logger: Logger?
    /// Who a takeover is recorded as having been made by (`user@host`).
    let actor: String

    /// - Parameters:
    ///   - name: the lock's name; one per database and history table.
    ///   - lease: how long a hold lasts unless renewed; at least a second.
    ///   - owner: the run's token; a fresh random one by default.
    ///   - actor: who runs, for the audit row of a takeover.
    public init(name: String, dialect: any SQLDialect, lease: Duration = TableMigrationLock.defaultLease,
                owner: String = UUID().uuidString.lowercased(), actor: String = MigratorOptions.defaultAppliedBy,
                logger: Logger? = nil) {
        self.name = name
        self.dialect = dialect
        self.leaseDuration = max(lease, .seconds(1))
        self.owner = owner
        self.host = ProcessInfo.processInfo.hostName
        self.pid = Int64(ProcessInfo.processInfo.processIdentifier)
        self.actor = actor
        self.logger = logger
    }

    public var kind: MigrationLockKind { .table }
    public var lease: Duration? { leaseDuration }

    /// Creates the lock table and the events table if absent; safe when several runs
    /// do it at once.
    static func create(_ conn: any SQLConnection, dialect: any SQLDialect) throws {
        let t = { dialect.columnType($0) }
        try createIfAbsent(conn, table: table, dialect: dialect, """
            CREATE TABLE IF NOT EXISTS \(try dialect.quoteIdentifier(table)) (
                name \(t(.varchar(191))) NOT NULL PRIMARY KEY,
                owner \(t(.varchar(64))) NOT NULL,
                host \(t(.varchar(255))) NOT NULL,
                pid \(t(.bigint)) NOT NULL,
                taken_at \(t(.timestamp)) NOT NULL,
                renewed_at \(t(.timestamp)) NOT NULL,
                expires_at \(t(.timestamp)) NOT NULL,
                writes \(t(.bigint)) NOT NULL
            )\(dialect.createTableSuffix)
            """)
        try MigrationLockEvents.create(conn, dialect: dialect)
    }

    /// `CREATE TABLE IF NOT EXISTS` that tolerates a concurrent creator: PostgreSQL
    /// reports a second creation racing the first as a unique violation in its catalogue,
    /// or as the table's row type already existing (42710), depending on where they meet.
    /// Asked first: on a Galera node even a `CREATE TABLE` that finds its table runs in
    /// total-order isolation and aborts other runs' transactions on that table.
    static func createIfAbsent(_ conn: any SQLConnection, table: String, dialect: any SQLDialect, _ sql: String) throws {
        guard try !SchemaHistory.tableExists(conn, table, dialect: dialect) else { return }
        do {
            try conn.executeUnprepared(sql)
        } catch let error as DatabaseError where error.category == .uniqueViolation || error.category == .duplicateObject {
            guard try SchemaHistory.tableExists(conn, table, dialect: dialect) else { throw error }
        }
    }

    public func acquire(_ conn: any SQLConnection, timeout: Duration, onWait: () -> Void, isCancelled: () -> Bool) throws {
        try Self.create(conn, dialect: dialect)
        let deadline = ContinuousClock.now + timeout
        var waited = false
        var pause = Duration.milliseconds(20)
        var seen: MigrationLockHolder?
        while true {
            if try tryInsert(conn) { return }
            if let stale = try holder(conn) {
                seen = stale
                if stale.isExpired, try takeOver(conn, stale) { return }
            }
            if isCancelled() {
                throw MigrationError.interrupted("canceled while waiting for the migration lock '\(name)'; nothing ran")
            }
            if ContinuousClock.now >= deadline {
                let by = seen.map { " (held by \($0.summary))" } ?? ""
                throw MigrationError.lockTimeout("another migration run held the table lock '\(name)'\(by) for longer than \(timeout.seconds) s (--lock-timeout)")
            }
            if !waited {
                waited = true
                onWait()
            }
            Thread.sleep(forTimeInterval: min(pause, max(deadline - ContinuousClock.now, .milliseconds(1))).seconds)
            pause = min(pause * 2, .milliseconds(500))
        }
    }

    /// Inserts this run's row; `false` when another run's row is there (a duplicate key,
    /// or on Galera a certification conflict with a concurrent insert on another node).
    private func tryInsert(_ conn: any SQLConnection) throws -> Bool {
        let now = dialect.serverTime(after: .zero)
        do {
            try conn.execute("""
                INSERT INTO \(identifier: Self.table) (name, owner, host, pid, taken_at, renewed_at, expires_at, writes)
                VALUES (\(name), \(owner), \(host), \(pid), \(now), \(now), \(dialect.serverTime(after: leaseDuration)), 0)
                """)
            return true
        } catch let error as DatabaseError where Self.lostRace(error) {
            return false
        }
    }

    /// Takes over a row whose lease ended, if it is still exactly that row.
    private func takeOver(_ conn: any SQLConnection, _ stale: MigrationLockHolder) throws -> Bool {
        guard let previous = stale.owner else { return false }
        let now = dialect.serverTime(after: .zero)
        let result: QueryResult
        do {
            result = try conn.execute("""
                UPDATE \(identifier: Self.table)
                SET owner = \(owner), host = \(host), pid = \(pid), taken_at = \(now), renewed_at = \(now),
                    expires_at = \(dialect.serverTime(after: leaseDuration)), writes = 0
                WHERE name = \(name) AND owner = \(previous) AND expires_at < \(now)
                """)
        } catch let error as DatabaseError where Self.lostRace(error) {
            return false
        }
        guard result.rowsAffected == 1 else { return false }
        logger?.warning("took over a migration lock whose lease had expired", metadata: [
            "lock": "\(name)", "previous": "\(stale.summary)",
        ])
        do {
            try MigrationLockEvents.record(conn, dialect: dialect, event: .takeover, lock: stale, by: "\(actor) pid \(pid) run \(owner)")
        } catch {
            logger?.error("could not record the takeover of the migration lock", metadata: ["error": "\(error)"])
        }
        return true
    }

    /// A write that another run's concurrent write beat: a duplicate key, a deadlock, or
    /// a certification conflict (MySQL 1213).
    static func lostRace(_ error: DatabaseError) -> Bool {
        error.category == .uniqueViolation || error.category == .deadlock || error.category == .serializationFailure
    }

    public func renew(_ conn: any SQLConnection) throws {
        let result = try conn.execute("""
            UPDATE \(identifier: Self.table)
            SET expires_at = \(dialect.serverTime(after: leaseDuration)), renewed_at = \(dialect.serverTime(after: .zero))
            WHERE name = \(name) AND owner = \(owner)
            """)
        if result.rowsAffected != 1 { throw lost(conn) }
    }

    /// Bumps `writes` of this run's row: a write of the lock row, so on Galera it
    /// certifies against a takeover, and on one server it waits for one in progress.
    public func confirmHeld(_ conn: any SQLConnection) throws {
        let result = try conn.execute("""
            UPDATE \(identifier: Self.table) SET writes = writes + 1 WHERE name = \(name) AND owner = \(owner)
            """)
        if result.rowsAffected != 1 { throw lost(conn) }
    }

    /// The error for a lock found gone, naming who has it now when the server says.
    private func lost(_ conn: any SQLConnection) -> MigrationError {
        let now = try? holder(conn)
        return MigrationError.lockLost(now.map { "lost the migration lock '\(name)' to \($0.summary)" }
            ?? "lost the migration lock '\(name)': its row was removed (strata migrate unlock)")
    }

    public func release(_ conn: any SQLConnection) {
        do {
            try conn.execute("DELETE FROM \(identifier: Self.table) WHERE name = \(name) AND owner = \(owner)")
        } catch {
            logger?.warning("could not release the migration lock; it ends with its lease", metadata: ["error": "\(error)"])
        }
    }

    public func holder(_ conn: any SQLConnection) throws -> MigrationLockHolder? {
        try Self.holder(conn, name: name, dialect: dialect)
    }

    /// The row of lock `name`, with whether its lease has ended by the server's clock.
    static func holder(_ conn: any SQLConnection, name: String, dialect: any SQLDialect) throws -> MigrationLockHolder? {
        guard try SchemaHistory.tableExists(conn, table, dialect: dialect) else { return nil }
        guard let row = try conn.queryFirst("""
            SELECT owner, host, pid, taken_at, expires_at,
                CASE WHEN expires_at < \(dialect.serverTime(after: .zero)) THEN 1 ELSE 0 END AS expired
            FROM \(identifier: table) WHERE name = \(name)
            """) else { return nil }
        return MigrationLockHolder(
            kind: .table, name: name, owner: try row.decode("owner"), host: try row.decode("host"),
            pid: try row.decode("pid"), takenAt: try row.decode("taken_at"), expiresAt: try row.decode("expires_at"),
            isExpired: try row.decode("expired", as: Int64.self) != 0)
    }

    /// Removes the row of lock `name` if it is still `holder`'s, with an audit row in the
    /// same transaction. - Returns: whether it was removed.
    static func remove(_ conn: any SQLConnection, holder: MigrationLockHolder, dialect: any SQLDialect, by: String) throws -> Bool {
        guard let owner = holder.owner else { return false }
        return try conn.inTransaction {
            let result = try conn.execute("DELETE FROM \(identifier: table) WHERE name = \(holder.name) AND owner = \(owner)")
            guard result.rowsAffected == 1 else { return false }
            try MigrationLockEvents.record(conn, dialect: dialect, event: holder.isExpired ? .unlock : .forcedUnlock,
                                           lock: holder, by: by)
            return true
        }
    }
}
