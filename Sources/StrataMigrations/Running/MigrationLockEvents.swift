import Foundation
import StrataSQL

/// The audit trail of table locks ended by someone other than their holder:
/// `strata_lock_events`, one row a takeover or `migrate unlock`.
///
/// Strata's own table, beside the history, rather than the billing schema's audit log:
/// it exists on any database Strata migrates, before any migration has run.
enum MigrationLockEvents {
    static let table = "strata_lock_events"

    /// What ended a lock.
    enum Event: String {
        /// A waiting run took over a lock whose lease had ended.
        case takeover
        /// `strata migrate unlock` removed a lock whose lease had ended.
        case unlock
        /// `strata migrate unlock --force` removed a lock whose lease had not ended.
        case forcedUnlock = "forced_unlock"
    }

    static func create(_ conn: any SQLConnection, dialect: any SQLDialect) throws {
        let t = { dialect.columnType($0) }
        try TableMigrationLock.createIfAbsent(conn, table: table, dialect: dialect, """
            CREATE TABLE IF NOT EXISTS \(try dialect.quoteIdentifier(table)) (
                id \(t(.varchar(36))) NOT NULL PRIMARY KEY,
                at \(t(.timestamp)) NOT NULL,
                lock_name \(t(.varchar(191))) NOT NULL,
                event \(t(.varchar(16))) NOT NULL,
                holder_owner \(t(.varchar(64))) NOT NULL,
                holder_host \(t(.varchar(255))) NULL,
                holder_pid \(t(.bigint)) NULL,
                holder_taken_at \(t(.timestamp)) NULL,
                holder_expires_at \(t(.timestamp)) NULL,
                done_by \(t(.varchar(255))) NOT NULL
            )\(dialect.createTableSuffix)
            """)
    }

    /// Records that `by` ended `lock`'s hold.
    static func record(_ conn: any SQLConnection, dialect: any SQLDialect, event: Event,
                       lock: MigrationLockHolder, by: String) throws {
        try conn.execute("""
            INSERT INTO \(identifier: table) (id, at, lock_name, event, holder_owner, holder_host, holder_pid,
                holder_taken_at, holder_expires_at, done_by)
            VALUES (\(UUID().uuidString.lowercased()), \(dialect.serverTime(after: .zero)), \(lock.name), \(event.rawValue),
                \(lock.owner ?? ""), \(lock.host), \(lock.pid), \(lock.takenAt), \(lock.expiresAt), \(String(by.prefix(255))))
            """)
    }
}
