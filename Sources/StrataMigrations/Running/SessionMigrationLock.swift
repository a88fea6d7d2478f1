import Foundation
import StrataSQL

/// A lock held by the session of the connection that runs the migrations: a PostgreSQL
/// advisory lock or MySQL `GET_LOCK`, which the server releases when the session ends.
///
/// Right on one server spoken to directly. Behind a transaction pooler the lock stays
/// on a shared server connection, and on a Galera node it is local to the node: use
/// ``TableMigrationLock`` there (``MigrationLockChoice`` does).
public struct SessionMigrationLock: MigrationLock {
    public let name: String

    /// - Parameter name: the lock's name; one per database and history table.
    public init(name: String) {
        self.name = name
    }

    public var kind: MigrationLockKind { .session }

    public func acquire(_ conn: any SQLConnection, timeout: Duration, onWait: () -> Void, isCancelled: () -> Bool) throws {
        switch try conn.waitForLock(name: name, timeout: timeout, onWait: onWait, isCancelled: isCancelled) {
        case .acquired: return
        case .cancelled:
            throw MigrationError.interrupted("canceled while waiting for the migration lock '\(name)'; nothing ran")
        case .timedOut:
            // The server session that holds it, for `pg_stat_activity` / `SHOW PROCESSLIST`.
            let by = ((try? holder(conn)) ?? nil)?.pid.map { " (held by server session \($0))" } ?? ""
            throw MigrationError.lockTimeout("another migration run held the lock '\(name)'\(by) for longer than \(timeout.seconds) s (--lock-timeout)")
        }
    }

    public func release(_ conn: any SQLConnection) {
        try? conn.releaseLock(name: name)
    }

    /// The server session that holds the lock (`pg_locks`, `IS_USED_LOCK`), as `pid`.
    public func holder(_ conn: any SQLConnection) throws -> MigrationLockHolder? {
        guard let query = conn.dialect.lockHolderQuery(name: name),
              let pid = try conn.queryFirst(query)?.decode("pid", as: Int64?.self) else { return nil }
        return MigrationLockHolder(kind: .session, name: name, pid: pid)
    }
}
