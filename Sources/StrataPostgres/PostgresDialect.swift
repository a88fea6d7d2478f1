import StrataSQL

/// PostgreSQL's SQL: `$n` placeholders, transactional DDL, `RETURNING`,
/// `ON CONFLICT` upserts and advisory locks.
public struct PostgresDialect: SQLDialect {
    public init() {}

    public var backend: DatabaseURL.Backend { .postgres }
    public func placeholder(_ position: Int) -> String { "$\(position)" }
    public var supportsTransactionalDDL: Bool { true }
    public var supportsReturning: Bool { true }
    /// `FOR UPDATE OF`: the other tables of the join are read without locks (PostgreSQL
    /// refuses to lock the nullable side of an outer join anyway).
    public func forUpdate(of alias: String) -> String { "FOR UPDATE OF \(alias)" }

    /// An advisory lock on a 64-bit key derived from the name by the server's own hash,
    /// so every client, whatever its language, maps a name to the same key.
    public func tryLockQuery(name: String) -> SQLQuery {
        "SELECT pg_try_advisory_lock(hashtextextended(\(name), 0)) AS acquired"
    }

    /// The backend in `pg_locks` that was granted the advisory lock: a 64-bit key shows
    /// as its high half in `classid` and its low half in `objid`, with `objsubid` 1.
    public func lockHolderQuery(name: String) -> SQLQuery? {
        """
        SELECT l.pid::bigint AS pid FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(\(name), 0)
        """
    }

    /// The transaction-level advisory lock on the key of ``tryLockQuery(name:)``: the two
    /// exclude each other.
    public func tryTransactionLockQuery(name: String) -> SQLQuery? {
        "SELECT pg_try_advisory_xact_lock(hashtextextended(\(name), 0)) AS acquired"
    }

    public func releaseLockQuery(name: String) -> SQLQuery {
        "SELECT pg_advisory_unlock(hashtextextended(\(name), 0)) AS released"
    }
}
